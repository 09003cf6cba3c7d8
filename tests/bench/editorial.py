"""What the editorial features cost: revisions on every save, search terms on every search.

Issue 10 added a revision (django-simple-history, taxonomy included) to every article
save and one UPSERT of the normalised query to every new search. Its target is that
both together add no more than 10% to save to searchable and to the results page p95.
This task measures the same save and the same results page with those features on and
off, alternating save by save and query by query. "Off" is
`SIMPLE_HISTORY_ENABLED=False` for saves and no search-term recording for the results
page; everything else is the production path.
"""

from __future__ import annotations

import contextlib
import json
import random
import string
import time
from unittest import mock

SAVES_PER_REP = 5  # saves are quick: more of them per repetition than rounds of queries


def _off():
    """Revisions and search-term recording switched off; the rest of the site as it is."""
    from django.test import override_settings

    stack = contextlib.ExitStack()
    stack.enter_context(override_settings(SIMPLE_HISTORY_ENABLED=False))
    stack.enter_context(mock.patch("library.views.record_after_response", lambda *a, **k: None))
    return stack


def task_editorial_overhead(queries: list[list[str]], reps: int) -> dict:
    """Save to searchable (`SAVES_PER_REP` per repetition) and the cold results page for
    every query, each with the features on and off."""
    from django.core.cache import caches
    from django.db import transaction
    from django.test import Client

    from library.models import Article

    rng = random.Random(10)
    ids = list(Article.objects.published().values_list("pk", flat=True))
    client = Client()
    client.get("/api/search/", {"q": "warm up"})
    texts = [text for _kind, text in queries]

    def save_until_searchable() -> tuple[float, float]:
        article = Article.objects.get(pk=rng.choice(ids))
        token = "qz" + "".join(rng.choice(string.ascii_lowercase) for _ in range(10))
        started, cpu = time.perf_counter(), time.process_time()
        with transaction.atomic():
            article.title = f"{article.title} {token}"
            article.save()
        while True:
            data = json.loads(client.get("/api/search/", {"q": token}).content)
            if any(hit.get("slug") == article.slug for hit in data.get("results", [])):
                return time.perf_counter() - started, time.process_time() - cpu
            if time.perf_counter() - started > 30:
                raise RuntimeError(f"article {article.pk} not searchable 30 s after saving")
            time.sleep(0.002)

    def results_page(text: str) -> tuple[float, float]:
        for cache in caches.all(initialized_only=True):
            cache.clear()
        started, cpu = time.perf_counter(), time.process_time()
        response = client.get("/articles/", {"q": text})  # the test client closes it
        if response.status_code != 200:
            raise RuntimeError(f"/articles/?q={text!r}: {response.status_code}")
        return time.perf_counter() - started, time.process_time() - cpu

    samples: dict[str, dict[str, list[float]]] = {
        f"{what}_{mode}": {"times": [], "cpu_times": []}
        for what in ("save", "page")
        for mode in ("on", "off")
    }

    def measure(name: str, operation, *args) -> None:
        wall, cpu = operation(*args)
        samples[name]["times"].append(wall)
        samples[name]["cpu_times"].append(cpu)

    def switched(mode: str):
        return _off() if mode == "off" else contextlib.nullcontext()

    # On and off alternate save by save and query by query, so that the index's
    # occasional merge of small segments and any change in the machine's load fall
    # on both halves alike.
    for rep in range(reps):
        for n in range(2 * SAVES_PER_REP):
            mode = ("on", "off")[(n + rep) % 2]
            with switched(mode):
                measure(f"save_{mode}", save_until_searchable)
        for n, text in enumerate(texts):
            for mode in ("on", "off") if (n + rep) % 2 == 0 else ("off", "on"):
                with switched(mode):
                    measure(f"page_{mode}", results_page, text)
    return samples
