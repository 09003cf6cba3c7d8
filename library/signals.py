"""Signals the library sends for changes that Django's own model signals do not cover."""

from django.dispatch import Signal

# Sent after a bulk `QuerySet.update()` of articles commits to the transaction, with
# `article_ids` (a list): model signals do not fire for `update()`, yet the search
# index must follow. Receivers only record; work happens after commit.
articles_bulk_changed = Signal()

# Sent by bulk writes that send no model signals - `QuerySet.update()`, `bulk_create()`
# and `bulk_update()` of articles and taxonomy terms - with `using`: cached reader pages
# must move on (pagecache.signals). The search index is not told: see search.signals.
content_written = Signal()
