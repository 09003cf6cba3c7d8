"""Reader pages served from Django's cache, never stale: see `pagecache.middleware`."""
