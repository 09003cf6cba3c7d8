"""What only the Whoosh backend does: generations on disk, the rebuild swap, damage,
segments, parallel rebuilds, concurrent writer processes and its highlighter's
folding. The engine-neutral contract is in test_backend_contract.py.

Documents are built directly as SearchDocuments: no database is involved.
"""

from __future__ import annotations

import datetime
import multiprocessing
import time

import psutil
import pytest

from search.backends import get_backend, reset_backends, whoosh
from search.backends.base import SearchDocument, SearchQuery, SearchUnavailable
from search.backends.whoosh import MAX_SEGMENTS, POINTER, WhooshBackend, highlight
from search.backends.whoosh.writing import FOLD_AT
from tests.search.engines import SYNONYMS, doc, found


@pytest.fixture
def backend(settings, search_index_dir):
    settings.SEARCH_BACKENDS = {
        "default": {"BACKEND": "search.backends.whoosh.WhooshBackend", "PATH": search_index_dir}
    }
    reset_backends()
    return get_backend()


def test_highlight_function_keeps_accents_and_apostrophes():
    snippet = highlight(
        "Living with Crohn\u2019s and Guillain-Barré.", "", frozenset({"crohn", "barr"})
    )
    assert snippet == "Living with <mark>Crohn\u2019s</mark> and Guillain-<mark>Barré</mark>."


def test_index_is_created_on_demand(search_index_dir):
    backend = WhooshBackend("x", {"PATH": search_index_dir / "nested" / "dir"})
    assert not backend.exists()
    page = backend.search(SearchQuery(text="lupus"))
    assert (page.total, page.hits) == (0, [])
    assert backend.indexed() == {}
    assert backend.suggest("lup") == []
    backend.index([doc(1, body="lupus")])
    assert backend.exists()
    assert found(backend, "lupus") == {1}


def test_rebuild_swaps_in_a_new_generation(backend, search_index_dir):
    backend.index([doc(1, body="lupus"), doc(2, body="lupus")])
    old = (search_index_dir / POINTER).read_text()
    assert backend.rebuild(doc(n, body="psoriasis") for n in (3, 4, 5)) == 3
    assert (search_index_dir / POINTER).read_text() != old
    assert set(backend.indexed()) == {3, 4, 5}
    assert found(backend, "lupus") == set()
    backend.rebuild([doc(6)])
    backend.rebuild([doc(7)])
    generations = [p for p in search_index_dir.iterdir() if p.name.startswith("gen-")]
    assert len(generations) == 2  # the live one and the one before it


def test_a_failed_rebuild_leaves_the_old_index_serving(backend, search_index_dir):
    backend.index([doc(1, body="lupus"), doc(2, body="lupus")])
    before = sorted(search_index_dir.iterdir())

    def documents_then_failure():
        yield doc(3, body="psoriasis")
        yield doc(4, body="psoriasis")
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        backend.rebuild(documents_then_failure())
    assert found(backend, "lupus") == {1, 2}
    assert sorted(search_index_dir.iterdir()) == before
    fresh = WhooshBackend("fresh", {"PATH": search_index_dir})
    assert found(fresh, "lupus") == {1, 2}


def test_a_damaged_index_raises_search_unavailable(backend, search_index_dir):
    backend.index([doc(n, body="lupus " * 50) for n in range(1, 20)])
    live = search_index_dir / (search_index_dir / POINTER).read_text()
    for path in live.iterdir():
        if path.suffix in (".seg", ".toc") or path.name.endswith(".toc"):
            path.write_bytes(path.read_bytes()[: max(1, path.stat().st_size // 3)])
    fresh = WhooshBackend("fresh", {"PATH": search_index_dir})
    with pytest.raises(SearchUnavailable):
        fresh.search(SearchQuery(text="lupus"))
    with pytest.raises(SearchUnavailable):
        fresh.indexed()


def test_an_update_from_another_backend_instance_is_seen_at_once(backend, search_index_dir):
    backend.index([doc(1, body="lupus")])
    assert found(backend, "lupus") == {1}  # the searcher is open now
    other = WhooshBackend("other", {"PATH": search_index_dir})
    other.index([doc(2, body="lupus")])
    assert found(backend, "lupus") == {1, 2}
    other.rebuild([doc(3, body="lupus")])
    assert found(backend, "lupus") == {3}


def test_single_saves_are_searchable_at_once_and_segments_stay_few(backend, search_index_dir):
    for n in range(1, 61):
        backend.index([doc(n, body=f"lupus word{n}")])
        assert found(backend, f"word{n}") == {n}
        if n % 3 == 0:  # an edit of an older article, as editors make them
            backend.index([doc(n // 2, body=f"lupus word{n // 2} edited{n}")])
            assert found(backend, f"edited{n}") == {n // 2}
    assert sorted(backend.indexed()) == list(range(1, 61))
    assert len(found(backend, "lupus")) == 60
    live = search_index_dir / (search_index_dir / POINTER).read_text()
    assert len(list(live.glob("*.seg"))) <= MAX_SEGMENTS


def _library(count: int) -> list[SearchDocument]:
    words = ("lupus", "remission", "stem cell", "fatigue", "trial")
    return [
        doc(
            n,
            f"Report {n:04d} on {words[n % 5]}",
            body=f"{words[n % 5]} and {words[n % 3]} studied word{n}",
            taxonomy=("Lupus", "SLE") if n % 2 else ("Multiple sclerosis",),
            diseases=("lupus",) if n % 2 else ("ms",),
            tags=("trial",) if n % 7 == 0 else (),
            published_on=datetime.date(2020 + n % 5, 1, 1 + n % 28),
        )
        for n in range(1, count + 1)
    ]


def _answers(backend) -> list:
    queries = ["lupus", "stem cell", "remission -fatigue", "word17", "lupsu", ""]
    answers = [sorted(backend.indexed().items()), backend.suggest("lu")]
    for text in queries:
        page = backend.search(SearchQuery(text=text, per_page=100, synonyms=SYNONYMS))
        answers.append((text, [h.id for h in page.hits], page.total, page.facets, page.suggestion))
    return answers


def test_a_parallel_rebuild_indexes_what_one_writer_does(backend, search_index_dir, monkeypatch):
    documents = _library(450)  # several batches of 100 for each of two processes
    monkeypatch.setattr(whoosh.backend, "REBUILD_PROCESSES", 1)
    assert backend.rebuild(documents) == 450
    single = _answers(backend)
    monkeypatch.setattr(whoosh.backend, "REBUILD_PROCESSES", 2)
    assert backend.rebuild(documents) == 450
    live = search_index_dir / (search_index_dir / POINTER).read_text()
    assert len(list(live.glob("*.seg"))) == 2  # one segment per process
    assert _answers(backend) == single


def test_a_rebuild_whose_writer_process_dies_leaves_the_old_index_serving(
    backend, search_index_dir, monkeypatch
):
    backend.rebuild(_library(10))
    monkeypatch.setattr(whoosh.backend, "REBUILD_PROCESSES", 2)
    start_task = whoosh.writing._ParallelWriter._new_task

    def start_dying_task(writer):
        task = start_task(writer)
        task.kill()  # a writer process is a new interpreter: kill it from outside
        task.join()
        return task

    monkeypatch.setattr(whoosh.writing._ParallelWriter, "_new_task", start_dying_task)
    with pytest.raises(SearchUnavailable):
        backend.rebuild(_library(300))  # found after the commit
    with pytest.raises(SearchUnavailable):
        backend.rebuild(_library(1500))  # found while the job queue is full
    assert sorted(backend.indexed()) == list(range(1, 11))


def test_a_rebuilds_writer_processes_are_new_interpreters_not_forks(
    backend, search_index_dir, monkeypatch
):
    # A fork would start each writer with a copy of this process (Django, the ORM,
    # the documents read so far), most of which it then dirties.
    monkeypatch.setattr(whoosh.backend, "REBUILD_PROCESSES", 2)
    start_task = whoosh.writing._ParallelWriter._new_task
    command_lines = []

    def start_task_and_look(writer):
        task = start_task(writer)
        process, line = psutil.Process(task.pid), ""
        deadline = time.monotonic() + 10
        while not line and time.monotonic() < deadline:  # empty until its exec
            line = " ".join(process.cmdline())
            time.sleep(0.01)
        command_lines.append(line)
        return task

    monkeypatch.setattr(whoosh.writing._ParallelWriter, "_new_task", start_task_and_look)
    assert backend.rebuild(_library(450)) == 450
    assert len(command_lines) == 2
    assert all("multiprocessing.spawn" in line for line in command_lines), command_lines


def _worker_document(n: int) -> SearchDocument:
    return doc(n, body=f"worker document {n}")


def _worker_documents(ids) -> list[SearchDocument]:
    """The "database" of `_write_many`'s writers: every article as last written."""
    return [_worker_document(n) if n != 1_000_000 else doc(n) for n in ids]


def _write_many(path: str, start: int, count: int, fold: bool) -> None:
    backend = WhooshBackend("worker", {"PATH": path})
    source = _worker_documents if fold else None
    for n in range(start, start + count):
        backend.index([_worker_document(n)], source=source)


@pytest.mark.parametrize("fold", [False, True], ids=["whoosh-merges", "folds"])
def test_concurrent_writer_processes_lose_no_update(backend, search_index_dir, fold):
    """Two processes saving at once, segments kept few by Whoosh's merge (a write
    without a document source) or by folds (`writing.fold_small_segments`)."""
    backend.index([doc(1_000_000)])
    assert len(backend.indexed()) == 1
    context = multiprocessing.get_context("fork")
    workers = [
        context.Process(target=_write_many, args=(str(search_index_dir), start, 200, fold))
        for start in (1, 1001)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    indexed = backend.indexed()
    assert set(indexed) == {1_000_000, *range(1, 201), *range(1001, 1201)}
    live = search_index_dir / (search_index_dir / POINTER).read_text()
    assert len(list(live.glob("*.seg"))) < 20  # merging keeps segments few


def _in_lupus(n: int) -> SearchDocument:
    return doc(n, body=f"lupus word{n}")


@pytest.mark.parametrize("compaction", ["merge", "fold"])
def test_a_search_is_not_broken_by_a_compaction_another_process_commits_as_it_opens(
    search_index_dir, monkeypatch, compaction
):
    # A merge (a write with no document source, past MAX_SEGMENTS) deletes some of the
    # segments' files; a fold (a save re-indexing the small segments' articles, at
    # FOLD_AT) deletes all of them. Either may commit in another web worker between a
    # search opening its view and reading the files that view lists.
    saves = MAX_SEGMENTS if compaction == "merge" else FOLD_AT
    source = None if compaction == "merge" else (lambda ids: [_in_lupus(n) for n in ids])
    reader = WhooshBackend("reader", {"PATH": search_index_dir})
    for n in range(1, saves + 1):  # one segment per save, no compaction yet
        reader.index([_in_lupus(n)])
    assert found(reader, "lupus") == set(range(1, saves + 1))
    writer = WhooshBackend("writer", {"PATH": search_index_dir})  # another web worker
    live = search_index_dir / (search_index_dir / POINTER).read_text()
    before = {p.name for p in live.glob("*.seg")}
    opened = reader._view
    compacted = []

    def then_compacted_elsewhere():
        view = opened()
        if not compacted:  # after this reader opened its view, before it reads the files
            compacted.append(True)
            writer.index([_in_lupus(saves + 1)], source=source)
        return view

    monkeypatch.setattr(reader, "_view", then_compacted_elsewhere)

    # The compaction deleted segment files the reader's view listed; the search answers.
    assert found(reader, "lupus") == set(range(1, saves + 2))
    after = {p.name for p in live.glob("*.seg")}
    assert compacted and not before <= after
    if compaction == "fold":
        assert not before & after  # every small segment was folded away


def test_related_articles_key_terms_are_whooshs_own_as_segments_come_and_go(backend):
    """The related box's key terms, from weights remembered per segment, are the ones
    Whoosh computes from the index, after each save adds a segment or replaces a
    document, for texts whose words are in one segment, several, or none."""
    backend.index(_library(40))
    texts = [
        "Report 0007 on trial: lupus and fatigue studied word7",
        "stem cell remission in lupus, a trial of stem cell transplants",
        "nothing here matches anything indexed at all",
    ]

    def both(text: str) -> tuple[list, list]:
        view = backend._view()
        expected = view.searcher.key_terms_from_text("text", text, numterms=12)
        return view.key_terms(text, 12), expected

    for text in texts:
        ours, expected = both(text)
        assert ours == expected
    for n in range(41, 45):  # single saves: new small segments beside the first
        backend.index([doc(n, f"Report {n} on remission", body=f"remission fatigue word{n}")])
        backend.index([doc(n - 30, f"Report {n - 30}", body=f"lupus edited{n} stem cell")])
        for text in [*texts, f"remission word{n} edited{n} lupus"]:
            ours, expected = both(text)
            assert ours == expected
            assert (ours == []) == (text == texts[2])
        assert len(backend._view()._leaves()) > 1  # the first segment and the saves'
    assert backend.more_like_this(7) and 7 not in backend.more_like_this(7)
