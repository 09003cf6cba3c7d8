"""The Whoosh search backend, as a package: each module does one job.

- `backend`: `WhooshBackend`, its generations on disk (open, swap, rebuild, lock);
- `schema`: the index schema and each article's field values;
- `writing`: lock waits, the parallel rebuild writer, the merge policy;
- `view`: one open searcher, its per-segment caches and the document sets;
- `ranking`: a results page (`_Search`: sets, relaxation, ranking, facets,
  did-you-mean), related articles, highlighting and autocomplete helpers;
- `postings`: each segment's searchable text's postings as arrays (`.npp` files);
- `internals`: every access to Whoosh's private structures;
- the analyser stays in `search.backends.whoosh_analysis`, the import path existing
  indexes have pickled.

Settings name the backend as `search.backends.whoosh.WhooshBackend`.
"""

from search.backends.whoosh.backend import POINTER, WhooshBackend
from search.backends.whoosh.ranking import highlight
from search.backends.whoosh.writing import MAX_SEGMENTS

__all__ = [
    "MAX_SEGMENTS",
    "POINTER",
    "REBUILD_PROCESSES",
    "WhooshBackend",
    "_SubWriter",
    "highlight",
]
