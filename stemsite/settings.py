"""Settings for stemsite, read from the environment.

Every value that differs between a laptop and production comes from an environment
variable; the defaults are safe for local development only. See README.md, "Configuration".
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from stemsite.cache import cache_from_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("STEMSITE_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    try:
        return float(value) if value else default
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number of seconds, not {value!r}.") from None


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not (value.isascii() and value.isdigit()):
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.")
    return int(value)


# --- Core -------------------------------------------------------------------

DEBUG = env_bool("DJANGO_DEBUG", default=False)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
# `make run` generates var/secret_key once; reading it here lets every management
# command (createsuperuser, shell, …) work on that machine without the Makefile's env.
SECRET_KEY_FILE = VAR_DIR / "secret_key"
if not SECRET_KEY and SECRET_KEY_FILE.is_file():
    SECRET_KEY = SECRET_KEY_FILE.read_text(encoding="utf-8").strip()
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set (nor var/secret_key, which `make run` creates). "
            "Set it, or set DJANGO_DEBUG=1 for local development."
        )
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.sitemaps",
    "django_filters",
    "simple_history",
    "axes",
    "csp",
    "stemsite",
    "library",
    "search",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "stemsite.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "stemsite.middleware.ApiJsonErrorsMiddleware",
    "stemsite.middleware.ApiRateLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: a signed-in editor reads the primary (stemsite/replicas.py).
    "stemsite.replicas.ReplicaMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "stemsite.urls"
FIXTURE_DIRS = [BASE_DIR / "fixtures"]
WSGI_APPLICATION = "stemsite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
# SQLite under var/ by default; PostgreSQL (or anything dj-database-url reads) via DATABASE_URL.

VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'stemsite.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers carry on while an editor or a fixture load writes; the busy
    # timeout makes concurrent writers wait instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Read replicas ------------------------------------------------------------
# PostgreSQL streaming replicas that readers' pages and searches read from; writes and
# reads that must see the latest write stay on the primary (stemsite/replicas.py, and
# README.md, "More than one machine"). Each URL becomes the alias replica1, replica2, …;
# `manage.py check` reports a URL that does not parse or replicas without a PostgreSQL
# primary (those are then left out, and every read goes to the primary).

DATABASE_REPLICA_URLS = env_list("DATABASE_REPLICA_URLS")
# Seconds a replica may be behind the primary before reads leave it.
DATABASE_REPLICA_MAX_LAG = env_float("DATABASE_REPLICA_MAX_LAG", 5.0)
DATABASE_REPLICAS: list[str] = []
DATABASE_REPLICA_ERRORS: list[str] = []  # what `manage.py check` reports
for _number, _url in enumerate(DATABASE_REPLICA_URLS, start=1):
    try:
        _replica = dj_database_url.parse(
            _url,
            conn_max_age=DATABASES["default"]["CONN_MAX_AGE"],
            conn_health_checks=True,
        )
    except ValueError as _error:  # never echo the URL: it may hold a password
        DATABASE_REPLICA_ERRORS.append(
            f"entry {_number} does not parse: "
            + (str(_error).split(". ")[0] or "not a URL (quote special characters)")
        )
        continue
    if _replica["ENGINE"] != "django.db.backends.postgresql":
        DATABASE_REPLICA_ERRORS.append(f"entry {_number} is not a PostgreSQL URL")
        continue
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        continue  # reported by the check: a replica of what?
    # A replica that does not answer must not hold a reader's request for long.
    _replica.setdefault("OPTIONS", {}).setdefault("connect_timeout", 2)
    _replica["TEST"] = {"MIRROR": "default"}  # the test runner creates nothing there
    DATABASES[f"replica{_number}"] = _replica
    DATABASE_REPLICAS.append(f"replica{_number}")
DATABASE_ROUTERS = ["stemsite.replicas.ReplicaRouter"]

# --- Search -----------------------------------------------------------------
# Shaped like CACHES: swapping the engine is a change of BACKEND here. SEARCH_BACKEND
# picks one: "postgres" (the index is a table in the database, shared by every web
# machine; the default on PostgreSQL) or "whoosh" (a directory on this machine; the
# default otherwise). `manage.py check` reports a choice the database cannot serve.

_ON_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
SEARCH_BACKEND = os.environ.get("SEARCH_BACKEND", "postgres" if _ON_POSTGRES else "whoosh")
SEARCH_INDEX_DIR = Path(os.environ.get("SEARCH_INDEX_DIR", VAR_DIR / "search_index"))
SEARCH_BACKENDS = {
    "default": (
        {
            # With replicas, the same engine reads from the request's replica.
            "BACKEND": "stemsite.replica_search.ReplicaPostgresBackend"
            if DATABASE_REPLICAS
            else "search.backends.postgres.PostgresBackend",
            "DATABASE": "default",
        }
        if SEARCH_BACKEND == "postgres"
        else {
            "BACKEND": "search.backends.whoosh.WhooshBackend",
            "PATH": SEARCH_INDEX_DIR,
            # What each process keeps of the index's postings between searches.
            "CACHE_BYTES": env_int("SEARCH_CACHE_MB", 64) * 2**20,
        }
    )
}
# Seconds an editor's save waits for the index lock before queueing the update for
# `update_index`; keep it well under the web server's timeout (gunicorn --timeout).
SEARCH_REQUEST_LOCK_WAIT = float(os.environ.get("SEARCH_REQUEST_LOCK_WAIT", "3"))

# --- Caches -----------------------------------------------------------------
# "default" holds reader pages (issue 21, `pagecache`): local memory in each process
# unless CACHE_URL names a shared backend (see `cache_from_url` and README.md).
# "ratelimit" must be shared by every worker process (a LocMem cache is per process):
# a file cache under the var directory whose add/incr take a cross-process lock.

CACHES = {
    "default": cache_from_url(os.environ.get("CACHE_URL", "")),
    "ratelimit": {
        "BACKEND": "stemsite.cache.LockedFileBasedCache",
        "LOCATION": VAR_DIR / "cache" / "ratelimit",
        "OPTIONS": {"MAX_ENTRIES": 10_000},
    },
}

# --- Page cache (issue 21) ---------------------------------------------------
# What anonymous readers see, cached under the content generation (pagecache.models)
# and revalidated by ETag; signed-in users bypass it. STEMSITE_PAGE_CACHE=0 turns the
# server-side cache off (the headers stay). The max-age values are what browsers and a
# CDN may hold a page without asking again; STEMSITE_RELEASE names the deployed code
# (a git commit, say) so that a shared cache never serves pages of the previous release.

INSTALLED_APPS += ["pagecache"]
MIDDLEWARE.insert(
    MIDDLEWARE.index("axes.middleware.AxesMiddleware"), "pagecache.middleware.ReaderCacheMiddleware"
)
PAGE_CACHE = env_bool("STEMSITE_PAGE_CACHE", default=True)
PAGE_CACHE_MAX_AGE = env_int("STEMSITE_PAGE_MAX_AGE", 60)
PAGE_CACHE_STALE_WHILE_REVALIDATE = env_int("STEMSITE_PAGE_STALE_WHILE_REVALIDATE", 60)
PAGE_CACHE_RELEASE = os.environ.get("STEMSITE_RELEASE", "").strip()

# --- Auth -------------------------------------------------------------------

AUTHENTICATION_BACKENDS = [
    # First, so that a locked-out login is refused before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation ---------------------------------------------------

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files (served by WhiteNoise, also under gunicorn) ---------------

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Security ---------------------------------------------------------------
# Production-strength defaults whenever DEBUG is off; `check --deploy` stays clean.

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Behind HTTPS (the default when DEBUG is off): redirect, HSTS and secure cookies.
# DJANGO_HTTPS=0 is for plain-HTTP set-ups such as the test suite's live server.
HTTPS = env_bool("DJANGO_HTTPS", default=not DEBUG)
if HTTPS:
    SECURE_SSL_REDIRECT = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # Preload lists are hard to leave again: opt in explicitly.
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        # W021 only says the site cannot be submitted to the preload list: a choice here.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- Editorial (issue 10) ----------------------------------------------------

# Days after a medical review that the next one falls due, unless an editor sets a date.
REVIEW_INTERVAL_DAYS = int(os.environ.get("REVIEW_INTERVAL_DAYS", "365"))
# Where readers report an error (the editorial policy page links it); empty: the page
# says that no address has been published yet.
CORRECTIONS_EMAIL = os.environ.get("STEMSITE_CORRECTIONS_EMAIL", "").strip()
# Revisions come from library.history; its own revert form would not restore taxonomy.
SIMPLE_HISTORY_REVERT_DISABLED = True
# Days a search term is kept after it was last searched for (`prune_search_terms`).
SEARCH_TERMS_RETENTION_DAYS = int(os.environ.get("SEARCH_TERMS_RETENTION_DAYS", "365"))

# --- Content-Security-Policy and Permissions-Policy ---------------------------
# django-csp 4.x format. Scripts and styles come only from our own static files: no
# inline script, no eval. Article bodies may show images from any https address.

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "https:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer", "autoplay", "camera", "display-capture", "geolocation", "gyroscope",
        "magnetometer", "microphone", "midi", "payment", "publickey-credentials-get",
        "screen-wake-lock", "serial", "usb", "xr-spatial-tracking",
    )
}  # fmt: skip

# --- Throttling: admin logins (django-axes) and the JSON API -----------------
# Client addresses come from the connection unless a trusted proxy header is named:
# see stemsite/throttling.py and README.md, "Security".

CLIENT_IP_HEADER = os.environ.get("STEMSITE_CLIENT_IP_HEADER", "").strip()
CLIENT_IP_TRUSTED_PROXIES = env_int("STEMSITE_TRUSTED_PROXIES", 1)

AXES_FAILURE_LIMIT = env_int("STEMSITE_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("STEMSITE_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "stemsite.throttling.client_ip"
AXES_LOCKOUT_CALLABLE = "stemsite.throttling.lockout_response"
AXES_SENSITIVE_PARAMETERS = ["password"]
AXES_VERBOSE = False  # no banner on every command; failures and lockouts are still logged

API_RATE_LIMIT = env_int("STEMSITE_API_RATE_LIMIT", 120)  # requests per period; 0: off
API_RATE_LIMIT_PERIOD = max(1, env_int("STEMSITE_API_RATE_PERIOD", 60))  # seconds
API_RATE_LIMIT_CACHE = "ratelimit"

# --- Logging ----------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {"search": {"level": os.environ.get("SEARCH_LOG_LEVEL", "INFO")}},
}
