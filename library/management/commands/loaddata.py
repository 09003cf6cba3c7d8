"""`loaddata`, with the library's fixture files validated before anything is written.

Django's own command saves raw objects without model validation and reports errors by
database id. This subclass checks every JSON fixture of the load first (see
`library.fixtures`), and refuses the whole load with a message naming the file, the
record and the field. Everything still happens in Django's single transaction, so a
failure leaves the database exactly as it was.

Raw saves skip `Article.save()`, so after the load (still in its transaction) a
review date without a next-review date gets the default one, and each loaded article
gets one revision (django-simple-history skips raw saves), unless the load brings
its own revisions: a full `dumpdata library` backup is restored as it was.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core import serializers
from django.core.management.base import CommandError
from django.core.management.commands.loaddata import Command as DjangoLoaddataCommand
from django.db.models.signals import post_save

from library import history
from library.fixtures import FixtureError, fill_review_due, validate_fixture_files
from library.models import Article, remembering_natural_keys


class Command(DjangoLoaddataCommand):
    help = DjangoLoaddataCommand.help + " Library records are validated before loading."

    def loaddata(self, fixture_labels):
        self.serialization_formats = serializers.get_public_serializer_formats()
        paths = []
        for label in fixture_labels:
            if label == "-":
                continue
            for fixture_file, _dir, _name in self.find_fixtures(label):
                _, ser_fmt, cmp_fmt = self.parse_name(os.path.basename(fixture_file))
                if ser_fmt == "json" and cmp_fmt is None:
                    paths.append(Path(fixture_file))
        try:
            validate_fixture_files(paths)
        except FixtureError as error:
            count = len(error.problems)
            raise CommandError(
                f"Nothing was loaded: {count} problem{'s' if count != 1 else ''} found.\n"
                + "\n".join(error.problems)
            ) from None
        loaded: set[int] = set()

        restored: list[int] = []  # revisions brought by the load (a full `dumpdata library`)

        def note(sender, instance, raw: bool = False, **kwargs) -> None:
            if raw:
                (loaded.add if sender is Article else restored.append)(instance.pk)

        for sender in (Article, Article.history.model):
            post_save.connect(note, sender=sender, weak=False, dispatch_uid="loaddata.note")
        try:
            with remembering_natural_keys(), history.paused():
                super().loaddata(fixture_labels)
        finally:
            for sender in (Article, Article.history.model):
                post_save.disconnect(sender=sender, dispatch_uid="loaddata.note")
        # Still inside loaddata's transaction: defaults and one revision per article.
        fill_review_due(loaded, using=self.using)
        if not restored:
            names = ", ".join(sorted({Path(label).name for label in fixture_labels}))
            history.record_revisions(loaded, reason=f"Loaded from {names}"[:100], using=self.using)
