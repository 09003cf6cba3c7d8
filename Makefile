# stemsite: `make run` sets up and serves the site, `make test` runs every test.
# Both create the virtual environment on first use and are safe to run again.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
PORT ?= 8000
HOST ?= 127.0.0.1

# A local, plain-HTTP server with production settings otherwise: DEBUG stays off.
# The secret key is generated once into var/ unless DJANGO_SECRET_KEY is set.
RUN_ENV := DJANGO_HTTPS=$${DJANGO_HTTPS:-0} \
	DJANGO_SECRET_KEY="$${DJANGO_SECRET_KEY:-$$(cat var/secret_key)}"

.PHONY: install run test lint format check-migrations bench loadtest e2e clean

$(BIN)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

install: $(BIN)/.installed

var/secret_key:
	mkdir -p var
	$(PYTHON) -c "import secrets; print(secrets.token_urlsafe(50))" > $@
	chmod 600 $@

run: install var/secret_key
	$(RUN_ENV) $(MANAGE) migrate --noinput
	$(RUN_ENV) $(MANAGE) load_shipped_content
	$(RUN_ENV) $(MANAGE) update_index
	$(RUN_ENV) $(MANAGE) collectstatic --noinput --verbosity 0
	@echo "Serving stemsite at http://$(HOST):$(PORT)/ (Ctrl-C stops it)"
	$(RUN_ENV) $(BIN)/gunicorn stemsite.wsgi --bind $(HOST):$(PORT) --workers 2 --threads 4 \
		--timeout 30 --access-logfile - --graceful-timeout 5

# Two passes: SQLite + Whoosh, then a throw-away PostgreSQL primary and hot standby (in a
# temporary directory, on free loopback ports, stopped afterwards) + the PostgreSQL
# backend. The second pass leaves out the browser tests (PG_SKIP); see the README's "Tests".
PG_SKIP ?= --ignore=tests/e2e
test: install lint check-migrations
	$(BIN)/pytest
	$(BIN)/python -m tests.pg_cluster $(BIN)/pytest $(PG_SKIP) -p no:cacheprovider

e2e: install
	$(BIN)/pytest tests/e2e

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check-migrations: install
	DJANGO_DEBUG=1 $(MANAGE) makemigrations --check --dry-run --verbosity 1

bench: install
	$(BIN)/python -m tests.bench.run

# Production gunicorn on a loopback port under mixed reader load and an editor saving
# throughout; fails on any 5xx or lost update. Never part of `make test`.
loadtest: install
	$(BIN)/python -m tests.loadtest.run

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
