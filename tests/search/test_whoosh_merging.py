"""The Whoosh backend's background merge of small segments (`search.backends.whoosh.merging`):
saves made while it runs are kept, a rebuild or a crash at any step leaves the index
as it was, and saves start it so that segments stay few.

Documents are built directly as SearchDocuments: no database is involved.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from whoosh.writing import SegmentWriter

from search.backends.whoosh import POINTER, WhooshBackend, merging
from search.backends.whoosh.writing import MERGE_AT
from tests.search.engines import doc, found


def _backend(path: Path, **params) -> WhooshBackend:
    return WhooshBackend("merging", {"PATH": path, **params})


def _live(path: Path) -> Path:
    return path / (path / POINTER).read_text().strip()


def _segment_files(path: Path) -> set[str]:
    return {p.name for p in _live(path).glob("*.seg")}


def _saved_one_by_one(path: Path, count: int) -> WhooshBackend:
    """A backend whose index holds `count` articles, one segment per save."""
    backend = _backend(path, BACKGROUND_MERGES=False)
    for n in range(1, count + 1):
        backend.index([doc(n, body=f"lupus word{n}")])
    return backend


def _during_the_merge(monkeypatch, action) -> None:
    """Run `action` after the merge wrote its segment aside, before it commits."""
    write_aside = merging._write_aside

    def then_act(*args, **kwargs):
        written = write_aside(*args, **kwargs)
        action()
        return written

    monkeypatch.setattr(merging, "_write_aside", then_act)


def test_a_merge_keeps_the_saves_and_deletions_made_while_it_ran(search_index_dir, monkeypatch):
    backend = _saved_one_by_one(search_index_dir, 20)
    before = len(_segment_files(search_index_dir))

    def editors_save():
        backend.index([doc(3, body="lupus rewritten")])  # its old version is being merged
        backend.remove([5])
        backend.index([doc(40, body="lupus word40")])

    _during_the_merge(monkeypatch, editors_save)
    assert merging.merge_small_segments(_live(search_index_dir)) >= 1
    expected = set(range(1, 21)) - {5} | {40}
    for reader in (backend, _backend(search_index_dir)):
        assert found(reader, "lupus") == expected
        assert found(reader, "rewritten") == {3}
        assert found(reader, "word3") == set()  # the merged copy of its old version is gone
        assert found(reader, "word5") == set()
        assert set(reader.indexed()) == expected
    assert len(_segment_files(search_index_dir)) < before


def test_a_merge_gives_up_when_a_rebuild_swapped_the_index_meanwhile(search_index_dir, monkeypatch):
    backend = _saved_one_by_one(search_index_dir, 20)
    old = _live(search_index_dir)
    _during_the_merge(monkeypatch, lambda: backend.rebuild([doc(50, body="psoriasis")]))
    assert merging.main([str(old)]) == 0
    fresh = _backend(search_index_dir)
    assert found(fresh, "psoriasis") == {50}
    assert found(fresh, "lupus") == set()


def test_a_merge_that_dies_before_its_commit_leaves_the_index_as_it_was(
    search_index_dir, monkeypatch
):
    backend = _saved_one_by_one(search_index_dir, 20)
    before = _segment_files(search_index_dir)
    abandoned = _live(search_index_dir) / f"{merging.ASIDE_PREFIX}99999999"
    abandoned.mkdir()  # what a merge killed mid-way leaves
    (abandoned / "MAIN_x.seg").write_bytes(b"half a segment")

    def killed(self, segments):
        raise RuntimeError("killed before writing its table of contents")

    with monkeypatch.context() as patched:
        patched.setattr(SegmentWriter, "_commit_toc", killed)
        with pytest.raises(RuntimeError):
            merging.merge_small_segments(_live(search_index_dir))
    assert not abandoned.exists()
    fresh = _backend(search_index_dir)
    assert found(fresh, "lupus") == set(range(1, 21))
    assert set(fresh.indexed()) == set(range(1, 21))
    # The next commit removes the segment file the dead merge had moved in.
    assert merging.merge_small_segments(_live(search_index_dir)) >= 1
    assert found(_backend(search_index_dir), "lupus") == set(range(1, 21))
    after = _segment_files(search_index_dir)
    assert len(after) < len(before)
    assert not list(_live(search_index_dir).glob(f"{merging.ASIDE_PREFIX}*"))
    backend.index([doc(21, body="lupus word21")])
    assert found(backend, "lupus") == set(range(1, 22))


def test_saves_start_background_merges_that_keep_segments_few(search_index_dir):
    backend = _backend(search_index_dir)
    for n in range(1, 25):
        backend.index([doc(n, body=f"lupus word{n}")])
        assert found(backend, f"word{n}") == {n}  # searchable as soon as the save returns
    merging.wait_for_merge(120)
    backend.index([doc(25, body="lupus word25")])  # starts one more if still too many
    merging.wait_for_merge(120)
    assert len(_segment_files(search_index_dir)) <= MERGE_AT + 1
    assert found(backend, "lupus") == set(range(1, 26))
    assert found(_backend(search_index_dir), "lupus") == set(range(1, 26))
