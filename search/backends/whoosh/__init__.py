"""The Whoosh search backend, as a package (`backend` holds it all for now).

Settings name the backend as `search.backends.whoosh.WhooshBackend`.
"""

from search.backends.whoosh.backend import MAX_SEGMENTS, POINTER, WhooshBackend, highlight

__all__ = ["MAX_SEGMENTS", "POINTER", "WhooshBackend", "highlight"]
