"""The Whoosh search backend, as a package: each module does one job.

- `backend`: `WhooshBackend`, its generations on disk (open, swap, rebuild, lock);
- `schema`: the index schema and each article's field values;
- `writing`: lock waits, the parallel rebuild writer, the merge policy;
- `merging`: the background process that merges small segments after saves;
- `view`: one open searcher, its per-segment caches and the document sets;
- `ranking`: a results page (`_Search`: sets, relaxation, ranking, facets,
  did-you-mean), related articles, highlighting and autocomplete helpers;
- `postings`: each segment's searchable text's postings as arrays (`.npp` files);
- `internals`: every access to Whoosh's private structures;
- the analyser stays in `search.backends.whoosh_analysis`, the import path existing
  indexes have pickled.

Settings name the backend as `search.backends.whoosh.WhooshBackend`. The names
below are imported when first asked for, so that a process needing one module (the
background merge, a rebuild's writers) does not load the whole backend.
"""

import importlib

_EXPORTS = {
    "MAX_SEGMENTS": "search.backends.whoosh.writing",
    "POINTER": "search.backends.whoosh.backend",
    "WhooshBackend": "search.backends.whoosh.backend",
    "highlight": "search.backends.whoosh.ranking",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
