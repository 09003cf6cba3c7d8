"""The project's own app: here only to register its system checks at start-up."""

from django.apps import AppConfig


class StemsiteConfig(AppConfig):
    name = "stemsite"
    verbose_name = "stemsite"

    def ready(self) -> None:
        from django.core import checks

        from stemsite.replicas import check_replicas

        checks.register(check_replicas, checks.Tags.database)
