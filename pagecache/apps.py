"""Reader pages served from Django's cache, never stale: see `pagecache.middleware`."""

from django.apps import AppConfig


class PageCacheConfig(AppConfig):
    name = "pagecache"
    verbose_name = "Page cache"

    def ready(self) -> None:
        from django.db.models.signals import post_init

        from library.models import Article
        from pagecache import signals
        from pagecache.middleware import article_loaded

        signals.connect()
        # Which article rows a listing page shows (pagecache.middleware.Shown).
        post_init.connect(article_loaded, sender=Article, dispatch_uid="pagecache.article_loaded")
