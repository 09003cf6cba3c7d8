"""The readers of `make loadtest`: locust users browsing and searching like people do.

Each user sends its next request as soon as the last one answers (no think time), so
the number of users is the number of requests in flight. Queries come from the
benchmark's query set; slugs from the file the driver writes (`LOADTEST_SLUGS`).
`LOADTEST_MIX` says how readers choose among articles, queries and terms:
`uniform` (every one equally likely, as in the first runs of this test), `zipf`
(the k-th most popular is chosen with weight 1/k^s, s = `LOADTEST_ZIPF_S`, as request
streams to web sites are measured to be; which item is k-th is a fixed shuffle,
independent of the editor's choice of articles) or `wave` (issue 21's scenario: a news
story sends readers to the same few pages. Each request is of the same kind as in the
other mixes, but with probability `LOADTEST_WAVE_SHARE` it is for the news's pages:
one article, its disease's page and facet, and a few searches about it (the driver
names them: `SLUGS["wave"]`); the others are chosen as in `zipf`. Lists and
suggestions are chosen as in `zipf` always). Every answer of 500 or above is counted as a failure by locust and, by status, in
the file named by `LOADTEST_5XX`, which the driver reads; the page cache's answers
(`X-Page-Cache`: hit, miss, or none when it is off) are counted beside it, in all
and per kind of request.
"""

from __future__ import annotations

import itertools
import json
import os
import random
from collections import Counter
from pathlib import Path

from locust import HttpUser, constant, events, task

QUERIES = [
    line.strip()
    for line in Path(__file__).parents[1].joinpath("bench", "queries.txt").read_text().splitlines()
    if line.strip() and not line.startswith(("#", "["))
]
SLUGS = json.loads(Path(os.environ["LOADTEST_SLUGS"]).read_text())
PREFIXES = ["mu", "lup", "stem c", "cord", "psor", "hsct", "type 1", "crohn", "scler"]
MIX = os.environ.get("LOADTEST_MIX", "uniform")
ZIPF_S = float(os.environ.get("LOADTEST_ZIPF_S", "0.8"))
WAVE_SHARE = float(os.environ.get("LOADTEST_WAVE_SHARE", "0.8"))
WAVE = SLUGS["wave"]
server_errors: Counter = Counter()


page_cache: Counter = Counter()
page_cache_by_name: dict[str, Counter] = {}


@events.request.add_listener
def count_server_errors(response=None, name: str = "", **_kwargs) -> None:
    status = getattr(response, "status_code", 0) or 0
    if status >= 500:
        server_errors[status] += 1
    headers = getattr(response, "headers", None) or {}
    answer = headers.get("X-Page-Cache", "none")
    page_cache[answer] += 1
    page_cache_by_name.setdefault(name, Counter())[answer] += 1


@events.quitting.add_listener
def write_server_errors(**_kwargs) -> None:
    Path(os.environ["LOADTEST_5XX"]).write_text(json.dumps(dict(server_errors)))
    Path(os.environ["LOADTEST_5XX"] + ".cache").write_text(json.dumps(dict(page_cache)))
    Path(os.environ["LOADTEST_5XX"] + ".cache-by-name").write_text(
        json.dumps({name: dict(counts) for name, counts in page_cache_by_name.items()})
    )


class Popularity:
    """Picks items uniformly, or by Zipf's law over a fixed shuffle of them; in the wave
    mix, one of the `wave` items instead with probability `WAVE_SHARE`."""

    def __init__(self, items, *, ranked: bool = False, wave=()) -> None:
        self.items = list(items)
        self.wave = list(wave)
        if not ranked:  # the order given (pk, file order) says nothing about popularity
            random.Random(21).shuffle(self.items)
        weights = [1 / rank**ZIPF_S for rank in range(1, len(self.items) + 1)]
        self.cumulative = list(itertools.accumulate(weights))

    def pick(self):
        if MIX == "uniform":
            return random.choice(self.items)
        if MIX == "wave" and self.wave and random.random() < WAVE_SHARE:
            return random.choice(self.wave)
        return random.choices(self.items, cum_weights=self.cumulative)[0]


ARTICLES = Popularity(SLUGS["articles"], wave=[WAVE["article"]])
SEARCHED = Popularity(QUERIES, wave=WAVE["queries"])
TERMS = {
    kind: Popularity(SLUGS[kind], wave=[WAVE[kind]] if kind in WAVE else [])
    for kind in ("disease", "therapy", "tag")
}
LIST_PAGES = Popularity(range(1, 51), ranked=True)  # page 1 first, then 2…


class Reader(HttpUser):
    wait_time = constant(0)

    def _get(self, path: str, name: str, **params) -> None:
        with self.client.get(path, params=params, name=name, catch_response=True) as response:
            if response.status_code >= 400:
                response.failure(f"HTTP {response.status_code}")

    @task(4)
    def search_page(self) -> None:
        self._get("/articles/", "/articles/?q=", q=SEARCHED.pick())

    @task(3)
    def article_page(self) -> None:
        self._get(f"/articles/{ARTICLES.pick()}/", "/articles/<slug>/")

    @task(2)
    def facet_page(self) -> None:
        kind = random.choice(["disease", "therapy", "tag"])
        self._get("/articles/", "/articles/?<facet>=", **{kind: TERMS[kind].pick()})

    @task(1)
    def list_pages(self) -> None:
        choice = random.choice(["/", "/diseases/", "/therapies/", "/articles/"])
        params = {"page": LIST_PAGES.pick()} if choice == "/articles/" else {}
        self._get(choice, "lists: /, /diseases/, /therapies/, /articles/?page=", **params)

    @task(1)
    def taxonomy_page(self) -> None:
        self._get(f"/diseases/{TERMS['disease'].pick()}/", "/diseases/<slug>/")

    @task(2)
    def search_api(self) -> None:
        self._get("/api/search/", "/api/search/?q=", q=SEARCHED.pick())

    @task(2)
    def suggest_api(self) -> None:
        self._get("/api/suggest/", "/api/suggest/?q=", q=random.choice(PREFIXES))
