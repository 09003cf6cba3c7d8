"""Would an embedding model earn its place? `python -m tests.search.embedding_eval`.

Issue 19, item 10: adopt a model only if the real-question suite improves measurably.
This script measures, it does not integrate. It loads the shipped content into a
throw-away SQLite database and Whoosh index (as `tests.search.relevance_report` does),
embeds every article with WordLlama (its wheel carries the weights; loaded with
downloads disabled), and scores on the real-question suite:

- the site's own ranking (the results page's path, `relevance_report.site_ranking`);
- embeddings alone: cosine of the question against each article's title, summary and
  key points ("article"), against its best section (the Markdown body split at its
  headings, "section"), and the mean of the two ("article + section");
- fusions of the site and "article + section" (fixed before looking at any result):
  reciprocal-rank fusion (k = 60, the usual constant, untuned); and a re-rank of the
  site's 20 results by w * place on the page + (1 - w) * cosine (both scaled to 0..1
  within the page), with w = 0.5 fixed, and with w chosen by leave-one-out (for each
  question, the w that gives the best MRR on the other answerable questions);
- per question, wins and losses against the site (reciprocal rank of the first answer,
  with a sign test; first result; top 3);
- recall: answering articles the site does not list at all that embeddings put in their
  top 5;
- unanswerable questions: the best cosine each question gets, beside the answerable
  ones', and a leave-one-out threshold for "nothing answers".

The suite's grades are used only for scoring and for the leave-one-out choices above.
Then the cost: model load time and resident memory, time to embed the library's
articles and sections (and per 1,000 articles), time per query embedding beside the
site's own time per question, and the installed size wordllama adds. The machine's load
average is printed with each timing.

`--scale N` also adds N synthetic articles (after the scoring) and times
`rebuild_index` and embedding the whole library in the same run.

Needs `wordllama` installed in the running interpreter; it is not in requirements.txt.
"""

from __future__ import annotations

import os

# One BLAS thread, as a web worker should run: on a busy 2-core machine OpenBLAS's
# threads contend and a small matrix-vector product takes many times longer.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import importlib.metadata as metadata  # noqa: E402
import math  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

from tests.search.real_questions import QUESTIONS, RealQuestion  # noqa: E402
from tests.search.relevance_report import (  # noqa: E402
    DEPTH,
    Scores,
    _clip,
    _setup_django,
    score,
    site_ranking,
)

RRF_K = 60
EMBED_TOP = 5  # "embeddings rank it highly": within their first five
WEIGHTS = [round(step / 10, 1) for step in range(11)]
REPEATS = 5  # timings of the whole library are the median of this many runs
_HEADING_LINE = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")


def load_text() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} / {five:.2f} / {fifteen:.2f}"


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def query_time(embedder: Embedder, text: str) -> float:
    """Seconds to embed and score one question: the middle of three runs, so that one
    stall of the shared machine is not counted."""
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        embedder.scores(text)
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


# --- What is embedded ------------------------------------------------------------------


def split_sections(body: str) -> list[tuple[str, str]]:
    """(heading, Markdown) for each part of `body` cut at its headings; the part before
    the first heading has an empty heading. Parts with no words are dropped."""
    sections: list[tuple[str, list[str]]] = [("", [])]
    fenced = False
    for line in body.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        match = None if fenced else _HEADING_LINE.match(line)
        if match:
            sections.append((match.group(1), []))
        else:
            sections[-1][1].append(line)
    return [(heading, "\n".join(lines)) for heading, lines in sections if "".join(lines).strip()]


@dataclass
class Library:
    slugs: list[str]
    article_texts: list[str]
    section_texts: list[str]
    section_owner: list[int]  # index into slugs, per section


def read_library() -> Library:
    from library.models import Article
    from library.rendering import markdown_to_text

    slugs, article_texts, section_texts, owner = [], [], [], []
    for index, article in enumerate(Article.objects.published().order_by("pk")):
        slugs.append(article.slug)
        article_texts.append(
            "\n".join([article.title, article.summary.strip(), *article.key_point_list])
        )
        for heading, markdown in split_sections(article.body):
            text = markdown_to_text(markdown)
            section_texts.append(f"{heading}\n{text}" if heading else text)
            owner.append(index)
    return Library(slugs, article_texts, section_texts, owner)


# --- The model -------------------------------------------------------------------------


def load_model():
    """WordLlama from the files inside its own package, never from the network.

    `WordLlama.load()` looks for the tokenizer under `wordllama/tokenizer/` while the
    wheel ships it under `wordllama/tokenizers/`, so with the defaults it would fetch it
    from Hugging Face into ~/.cache; pointing the cache at the package directory finds
    both files, and `disable_download` makes a missing file an error instead of a fetch.
    """
    import wordllama

    return wordllama.WordLlama.load(
        cache_dir=Path(wordllama.__file__).parent, disable_download=True
    )


class Embedder:
    """The library's vectors, and the question-side scoring."""

    def __init__(self, model, library: Library) -> None:
        import numpy as np

        self.np = np
        self.model = model
        self.library = library
        self.articles = model.embed(library.article_texts, norm=True)
        self.sections = model.embed(library.section_texts, norm=True)
        owner = np.array(library.section_owner)  # ascending: sections follow their article
        self.starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
        self.with_sections = owner[self.starts]

    def scores(self, question: str) -> dict[str, dict[str, float]]:
        """Cosine per slug: article, best section, and their mean."""
        np = self.np
        vector = self.model.embed([question], norm=True)[0]
        article = self.articles @ vector
        best = article.copy()  # an article with no sections: its own text stands in
        best[self.with_sections] = np.maximum.reduceat(self.sections @ vector, self.starts)
        return {
            "article": dict(zip(self.library.slugs, article.tolist(), strict=True)),
            "section": dict(zip(self.library.slugs, best.tolist(), strict=True)),
            "article + section": dict(
                zip(self.library.slugs, ((article + best) / 2).tolist(), strict=True)
            ),
        }


def ranked(scores: dict[str, float]) -> list[str]:
    return sorted(scores, key=lambda slug: (-scores[slug], slug))


# --- Fusions ---------------------------------------------------------------------------


def rrf(site: list[str], embedded: list[str]) -> list[str]:
    fused: dict[str, float] = {}
    for ranking in (site, embedded[:DEPTH]):
        for rank, slug in enumerate(ranking, start=1):
            fused[slug] = fused.get(slug, 0.0) + 1 / (RRF_K + rank)
    return ranked(fused)


def rerank(site: list[str], cosine: dict[str, float], weight: float) -> list[str]:
    """The site's results reordered by weight * place + (1 - weight) * cosine, each
    scaled to 0..1 within the page: place is 1 for the site's first result down to 1/n
    for its last (the engine's score is not used: a relaxed query is ordered by how many
    words each article covers before score, so scores do not follow the page's order),
    cosine is min-max scaled over the page. Ties keep the site's order."""
    if not site:
        return []
    cosines = [cosine[slug] for slug in site]
    low, spread = min(cosines), (max(cosines) - min(cosines)) or 1.0
    count = len(site)
    mixed = {
        slug: weight * (count - place) / count + (1 - weight) * (cosine[slug] - low) / spread
        for place, slug in enumerate(site)
    }
    order = {slug: place for place, slug in enumerate(site)}
    return sorted(mixed, key=lambda slug: (-mixed[slug], order[slug]))


def reciprocal_rank(question: RealQuestion, ranking: list[str]) -> float:
    for rank, slug in enumerate(ranking[:DEPTH], start=1):
        if question.grades.get(slug) == 2:
            return 1 / rank
    return 0.0


def leave_one_out_rerank(
    answerable: list[RealQuestion],
    site: dict[str, list[str]],
    cosine: dict[str, dict[str, float]],
) -> tuple[dict[str, list[str]], list[float]]:
    """Each question re-ranked with the weight that does best on the others (ties go to
    the higher weight, i.e. the smaller change to the site's order)."""
    table = {
        weight: {
            q.text: reciprocal_rank(q, rerank(site[q.text], cosine[q.text], weight))
            for q in answerable
        }
        for weight in WEIGHTS
    }
    chosen, out = [], {}
    for question in answerable:
        best = max(
            WEIGHTS,
            key=lambda w: (sum(v for t, v in table[w].items() if t != question.text), w),
        )
        chosen.append(best)
        out[question.text] = rerank(site[question.text], cosine[question.text], best)
    return out, chosen


def leave_one_out_threshold(best: list[tuple[float, bool]]) -> tuple[int, int, int, int]:
    """For each question, the cut that best separates the others (balanced accuracy),
    applied to it. Returns (unanswerable flagged, unanswerable, answerable flagged,
    answerable): "flagged" = best cosine below the cut, i.e. "nothing answers"."""
    hits = [0, 0, 0, 0]
    for index, (value, answerable) in enumerate(best):
        rest = best[:index] + best[index + 1 :]
        cuts = [*sorted({v for v, _ in rest}), max(v for v, _ in rest) + 1e-9]

        def balanced(cut: float, rest=rest) -> float:
            none = [v < cut for v, a in rest if not a]
            some = [v >= cut for v, a in rest if a]
            return sum(none) / len(none) + sum(some) / len(some)

        cut = max(cuts, key=balanced)
        if answerable:
            hits[2] += value < cut
            hits[3] += 1
        else:
            hits[0] += value < cut
            hits[1] += 1
    return hits[0], hits[1], hits[2], hits[3]


def auc(positives: list[float], negatives: list[float]) -> float:
    """Chance that a random answerable question's best cosine beats an unanswerable one's."""
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


# --- Cost ------------------------------------------------------------------------------


def _requirement_names(dist: str) -> set[str]:
    names = set()
    for requirement in metadata.requires(dist) or []:
        if "extra ==" in requirement:
            continue
        names.add(re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0].lower())
    return names


def _closure(roots: set[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in seen:
            continue
        try:
            metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen.add(name)
        todo.extend(_requirement_names(name))
    return seen


def added_disk() -> tuple[int, list[tuple[str, int]]]:
    """Bytes installed for wordllama and the packages only it needs (those not already
    pulled in by requirements.txt), from each distribution's RECORD."""
    requirements = Path(__file__).resolve().parents[2] / "requirements.txt"
    ours = {
        re.split(r"[\s<>=!~\[]", line.strip(), maxsplit=1)[0].lower()
        for line in requirements.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    extra = _closure({"wordllama"}) - _closure(ours)
    sizes = []
    for name in sorted(extra):
        dist = metadata.distribution(name)
        total = 0
        for file in dist.files or []:
            path = Path(dist.locate_file(file))
            if path.is_file():
                total += path.stat().st_size
        sizes.append((name, total))
    sizes.sort(key=lambda item: -item[1])
    return sum(size for _, size in sizes), sizes


# --- Running it ------------------------------------------------------------------------


def win_loss(
    answerable: list[RealQuestion], base: dict[str, list[str]], other: dict[str, list[str]]
) -> str:
    better = worse = gained = lost = top_gained = top_lost = 0
    for q in answerable:
        a, b = reciprocal_rank(q, base[q.text]), reciprocal_rank(q, other[q.text])
        better += b > a
        worse += b < a
        gained += b == 1 and a != 1
        lost += a == 1 and b != 1
        was = any(slug in q.grades for slug in base[q.text][:3])
        now = any(slug in q.grades for slug in other[q.text][:3])
        top_gained += now and not was
        top_lost += was and not now
    return (
        f"{better} / {worse} / {len(answerable) - better - worse} (p = "
        f"{sign_test(better, worse):.3f}) | +{gained} −{lost} | +{top_gained} −{top_lost}"
    )


def sign_test(better: int, worse: int) -> float:
    """Two-sided exact sign test: the chance of a split at least this uneven if each
    changed question were a coin toss."""
    changed = better + worse
    if not changed:
        return 1.0
    tail = sum(math.comb(changed, k) for k in range(min(better, worse) + 1)) / 2**changed
    return min(1.0, 2 * tail)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--scale",
        type=int,
        default=0,
        metavar="N",
        help="also add N synthetic articles (after scoring) and time rebuild_index "
        "and embedding the whole library in the same run",
    )
    args = parser.parse_args(argv)
    os.environ["HF_HUB_OFFLINE"] = "1"  # belt and braces: nothing here may fetch
    try:
        metadata.distribution("wordllama")
    except metadata.PackageNotFoundError:
        sys.exit("wordllama is not installed in this interpreter (it is not a requirement)")

    answerable = [q for q in QUESTIONS if q.answerable]
    unanswerable = [q for q in QUESTIONS if not q.answerable]
    with tempfile.TemporaryDirectory(prefix="embedding-eval-") as tmp:
        cleanup = _setup_django("whoosh", Path(tmp))
        try:
            site, site_seconds = {}, []
            for q in QUESTIONS:
                started = time.perf_counter()
                site[q.text] = site_ranking(q.text)
                site_seconds.append(time.perf_counter() - started)
            site_load = load_text()
            library = read_library()
            scaled, rebuild_seconds, rebuild_load = None, 0.0, ""
            if args.scale:
                from django.core.management import call_command

                call_command("generate_articles", count=args.scale, seed=1, verbosity=0)
                started = time.perf_counter()
                call_command("rebuild_index", verbosity=0)
                rebuild_seconds = time.perf_counter() - started
                rebuild_load = load_text()
                scaled = read_library()
        finally:
            cleanup()

    # Cost of the model, measured before anything else of its kind is imported.
    rss_before = rss_mb()
    started = time.perf_counter()
    model = load_model()
    load_seconds = time.perf_counter() - started
    rss_after = rss_mb()
    load_at = load_text()

    article_runs, section_runs = [], []
    for _ in range(REPEATS):
        started = time.perf_counter()
        model.embed(library.article_texts, norm=True)
        article_runs.append(time.perf_counter() - started)
        started = time.perf_counter()
        model.embed(library.section_texts, norm=True)
        section_runs.append(time.perf_counter() - started)
    embed_load = load_text()
    embedder = Embedder(model, library)
    rss_vectors = rss_mb()

    cosine, query_seconds = {}, []
    for q in QUESTIONS:
        cosine[q.text] = embedder.scores(q.text)
        query_seconds.append(query_time(embedder, q.text))
    query_load = load_text()

    # Rankings.
    runs: dict[str, dict[str, list[str]]] = {"site (Whoosh)": site}
    for kind in ("article", "section", "article + section"):
        runs[f"embeddings alone: {kind}"] = {t: ranked(c[kind]) for t, c in cosine.items()}
    fused = {t: c["article + section"] for t, c in cosine.items()}
    runs["RRF(site, article + section), k = 60"] = {t: rrf(site[t], ranked(fused[t])) for t in site}
    runs["re-rank site top 20, w = 0.5"] = {t: rerank(site[t], fused[t], 0.5) for t in site}
    loo, chosen = leave_one_out_rerank(answerable, site, fused)
    runs["re-rank site top 20, w by leave-one-out"] = loo

    print(
        f"{len(QUESTIONS)} questions, {len(answerable)} answerable, "
        f"{len(unanswerable)} unanswerable; {len(library.slugs)} articles, "
        f"{len(library.section_texts)} sections\n"
    )
    print(
        "| ranking | first result answers it | graded article in top 3 | MRR "
        "| per question vs site: better / worse / same RR (sign test) "
        "| first result answers: +gained −lost | graded in top 3: +gained −lost |"
    )
    print("|---|---:|---:|---:|---|---|---|")
    base = runs["site (Whoosh)"]
    for name, ranking in runs.items():
        scores: Scores = score(ranking, answerable)
        versus = "— | — | —" if ranking is base else win_loss(answerable, base, ranking)
        print(f"{scores.line(name)[:-1]}| {versus} |")
    print(
        f"\nLeave-one-out weights chosen (site share): "
        f"{', '.join(f'{w}×{chosen.count(w)}' for w in sorted(set(chosen)))}"
    )

    # Recall: answers the site does not list, that embeddings rank highly.
    print(f"\n## Answers the site does not list that embeddings put in their top {EMBED_TOP}\n")
    missing = rescued = 0
    for q in answerable:
        listed = set(base[q.text])
        embedded = ranked(fused[q.text])[:EMBED_TOP]
        for slug in sorted(q.answers - listed):
            missing += 1
            if slug in embedded:
                rescued += 1
                print(
                    f"- {_clip(q.text, 80)!r}: {slug} (embedding rank {embedded.index(slug) + 1})"
                )
    print(f"\n{rescued} of {missing} unlisted answers are in the embeddings' top {EMBED_TOP}.")

    # Unanswerable questions: is the best cosine lower?
    print("\n## Best cosine per question (article + section)\n")
    print("| questions | min | median | max |\n|---|---:|---:|---:|")
    best = {t: max(c["article + section"].values()) for t, c in cosine.items()}
    groups = {
        "answerable": [best[q.text] for q in answerable],
        "unanswerable": [best[q.text] for q in unanswerable],
    }
    for name, values in groups.items():
        print(
            f"| {name} ({len(values)}) | {min(values):.3f} | "
            f"{statistics.median(values):.3f} | {max(values):.3f} |"
        )
    print(
        f"\nAUC (answerable above unanswerable): "
        f"{auc(groups['answerable'], groups['unanswerable']):.2f}"
    )
    flagged_none, nones, flagged_some, somes = leave_one_out_threshold(
        [(best[q.text], q.answerable) for q in QUESTIONS]
    )
    print(
        f"Leave-one-out threshold: says 'nothing answers' for {flagged_none} of {nones} "
        f"unanswerable and, wrongly, for {flagged_some} of {somes} answerable questions."
    )

    # Cost.
    print("\n## Cost\n")
    articles_s = statistics.median(article_runs)
    sections_s = statistics.median(section_runs)
    per_thousand = (articles_s + sections_s) / len(library.slugs) * 1000
    vectors = len(library.slugs) + len(library.section_texts)
    dim = embedder.articles.shape[1]
    print(f"- model load: {load_seconds * 1000:.0f} ms ({load_at})")
    print(
        f"- resident memory: {rss_before:.0f} MB before load, {rss_after:.0f} MB after "
        f"(+{rss_after - rss_before:.0f} MB); {rss_vectors:.0f} MB with the library's vectors"
    )
    print(
        f"- embedding the library (median of {REPEATS}): {len(library.slugs)} articles "
        f"{articles_s * 1000:.0f} ms, {len(library.section_texts)} sections "
        f"{sections_s * 1000:.0f} ms; {per_thousand:.2f} s per 1,000 articles ({embed_load})"
    )
    if scaled:
        started = time.perf_counter()
        big = Embedder(model, scaled)
        scaled_seconds = time.perf_counter() - started
        count = len(scaled.slugs)
        big_seconds = []
        for q in QUESTIONS:
            big_seconds.append(query_time(big, q.text))
        print(
            f"- at {count} articles ({len(scaled.section_texts)} sections), same run: "
            f"`rebuild_index` {rebuild_seconds:.1f} s ({rebuild_load}); embedding every "
            f"article and section {scaled_seconds:.1f} s ({load_text()}), "
            f"{scaled_seconds / rebuild_seconds:.2f}× the rebuild; peak RSS "
            f"{peak_rss_mb():.0f} MB"
        )
        print(
            f"- per question at {count} articles (middle of 3 runs), embedding + scoring every article and "
            f"section: median {statistics.median(big_seconds) * 1000:.2f} ms, p95 "
            f"{percentile(big_seconds, 0.95) * 1000:.2f} ms ({load_text()})"
        )
    print(
        f"- vectors: {vectors} × {dim} float32 = {vectors * dim * 4 / 1024:.0f} KB; "
        f"{vectors / len(library.slugs):.1f} per article, "
        f"{vectors / len(library.slugs) * dim * 4 * 10_000 / 2**20:.0f} MB at 10,000 articles"
    )
    print(
        f"- per question (middle of 3 runs), embedding + scoring every article: median "
        f"{statistics.median(query_seconds) * 1000:.2f} ms, p95 "
        f"{percentile(query_seconds, 0.95) * 1000:.2f} ms ({query_load})"
    )
    print(
        f"- per question, the site's own results page path (same run): median "
        f"{statistics.median(site_seconds) * 1000:.1f} ms, p95 "
        f"{percentile(site_seconds, 0.95) * 1000:.1f} ms ({site_load})"
    )
    total, sizes = added_disk()
    print(
        f"- installed size added: {total / 2**20:.1f} MB: "
        + ", ".join(f"{name} {size / 2**20:.1f}" for name, size in sizes)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
