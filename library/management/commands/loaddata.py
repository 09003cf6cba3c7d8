"""`loaddata`, with the library's fixture files validated before anything is written.

Django's own command saves raw objects without model validation and reports errors by
database id. This subclass checks every JSON fixture of the load first (see
`library.fixtures`), and refuses the whole load with a message naming the file, the
record and the field. Records of the other serialisation formats (XML, YAML) are
validated one by one as they are saved (`save_obj`), since only JSON is read up front.
Everything still happens in Django's single transaction, so a failure leaves the
database exactly as it was.

Before the first record is saved, the slugs the files define are looked up in a few
queries (`remember_natural_keys`): Django resolves each record's natural key before its
raw save, one `SELECT` per new article otherwise.

Each article's diseases, therapies and tags are written after every record is saved,
in one DELETE and one bulk INSERT per relation (Django's deserializer makes three
`set()` calls per article, about nine statements). Nothing listens for those
`m2m_changed` signals during a load: revisions are paused and recorded once per
article below, and the search index is told of each article by its raw `post_save`.

Raw saves skip `Article.save()`, so after the load (still in its transaction) a
review date without a next-review date gets the default one, and each loaded article
gets one revision (django-simple-history skips raw saves), unless the load brings
its own revisions: a full `dumpdata library` backup is restored as it was.

`--dry-run` validates and prints, by slug, what would be created, updated or left
unchanged, and writes nothing. On a terminal a load reports its progress (validated,
saved, indexed) and a final rate.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from django.apps import apps
from django.core import serializers
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.core.management.commands.loaddata import Command as DjangoLoaddataCommand
from django.db.models.signals import post_save

from library import history
from library.fixtures import (
    LIBRARY_MODELS,
    FixtureError,
    fill_review_due,
    key_field,
    plan_load,
    validate_fixture_files,
)
from library.models import Article, remember_natural_keys, remembering_natural_keys

PROGRESS_EVERY = 250  # articles between progress lines on a terminal
LINK_BATCH = 1000  # articles (or link rows) per statement when writing their taxonomy


class Command(DjangoLoaddataCommand):
    help = DjangoLoaddataCommand.help + " Library records are validated before loading."

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Validate and print what would be created, updated or left unchanged "
            "(by slug); write nothing to the database or the search index.",
        )

    def handle(self, *fixture_labels, **options):
        self.dry_run = options.get("dry_run", False)
        self.progress = (
            not self.dry_run and options.get("verbosity", 1) > 0 and self.stdout.isatty()
        )
        self.started = time.monotonic()
        self.saved_articles = 0
        result = super().handle(*fixture_labels, **options)
        if self.progress and self.saved_articles:
            # After the commit, so the batch indexing (on_commit) is included.
            elapsed = max(time.monotonic() - self.started, 1e-6)
            self.stdout.write(
                f"Loaded and indexed {self.saved_articles} articles in {elapsed:.1f} s "
                f"({self.saved_articles / elapsed:.0f} articles/s)."
            )
        return result

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
            defined = validate_fixture_files(paths)
        except FixtureError as error:
            count = len(error.problems)
            raise CommandError(
                f"Nothing was loaded: {count} problem{'s' if count != 1 else ''} found.\n"
                + "\n".join(error.problems)
            ) from None
        if getattr(self, "dry_run", False):
            self._print_plan(plan_load(paths), paths)
            return
        if getattr(self, "progress", False):
            self.stdout.write(
                f"Validated {len(paths)} file(s) in {time.monotonic() - self.started:.1f} s."
            )
        loaded: set[int] = set()

        restored: list[int] = []  # revisions brought by the load (a full `dumpdata library`)

        def note(sender, instance, raw: bool = False, **kwargs) -> None:
            if not raw:
                return
            if sender is not Article:
                restored.append(instance.pk)
                return
            loaded.add(instance.pk)
            if getattr(self, "progress", False) and len(loaded) % PROGRESS_EVERY == 0:
                self.stdout.write(f"\rSaved {len(loaded)} articles…", ending="")
                self.stdout.flush()

        for sender in (Article, Article.history.model):
            post_save.connect(note, sender=sender, weak=False, dispatch_uid="loaddata.note")
        self.article_links: list[tuple[int, dict[str, list]]] = []
        try:
            with remembering_natural_keys(), history.paused():
                for label, slugs in defined.items():
                    if key_field(label) == "slug" and slugs:
                        remember_natural_keys(apps.get_model(label), slugs, self.using)
                super().loaddata(fixture_labels)
                self._save_article_links()
        finally:
            for sender in (Article, Article.history.model):
                post_save.disconnect(sender=sender, dispatch_uid="loaddata.note")
        # Still inside loaddata's transaction: defaults and one revision per article.
        fill_review_due(loaded, using=self.using)
        if not restored:
            names = ", ".join(sorted({Path(label).name for label in fixture_labels}))
            history.record_revisions(loaded, reason=f"Loaded from {names}"[:100], using=self.using)
        self.saved_articles = len(loaded)
        if getattr(self, "progress", False) and loaded:
            self.stdout.write(f"\rSaved {len(loaded)} articles; indexing them after the commit…")

    def _print_plan(self, plan: dict[str, list[str]], paths: list[Path]) -> None:
        for action in ("create", "update", "unchanged"):
            for name in plan[action]:
                self.stdout.write(
                    f"would {action if action != 'unchanged' else 'leave unchanged'} {name}"
                )
        self.stdout.write(
            f"Dry run of {len(paths)} file(s): {len(plan['create'])} to create, "
            f"{len(plan['update'])} to update, {len(plan['unchanged'])} unchanged. "
            "Nothing was written."
        )

    def save_obj(self, obj):
        """Validate each library record, whatever its format, before its raw save."""
        instance = obj.object
        if instance._meta.label_lower in LIBRARY_MODELS:
            exclude = [
                f.name for f in instance._meta.get_fields() if f.many_to_many or f.auto_created
            ]
            created_at = getattr(instance, "created_at", None)
            if isinstance(instance, Article):
                # A record without `created_at` gets "now" from the field's default, so a
                # new record's review date is not compared with it (JSON files were checked
                # up front, with the record's own `created_at` if it has one); an update's
                # is compared with the earlier of the stored and the loaded value.
                stored = (
                    Article.objects.filter(pk=instance.pk)
                    .values_list("created_at", flat=True)
                    .first()
                    if instance.pk and instance.last_reviewed_on
                    else None
                )
                instance.created_at = min(stored, created_at) if stored and created_at else None
            try:
                instance.full_clean(
                    exclude=exclude, validate_unique=False, validate_constraints=False
                )
            except ValidationError as error:
                key = "query" if hasattr(instance, "query") else "slug"
                slug = getattr(instance, key, "") or "?"
                problems = [
                    f"{instance._meta.label_lower} ({key} “{slug}”): "
                    f"{'record' if name == '__all__' else f'field {name!r}'}: {message}"
                    for name, messages in error.message_dict.items()
                    for message in messages
                ]
                raise CommandError(
                    "Nothing was loaded: the record below is invalid.\n" + "\n".join(problems)
                ) from None
            finally:
                if isinstance(instance, Article):
                    instance.created_at = created_at
        links = {}
        if isinstance(instance, Article) and obj.m2m_data:
            links, obj.m2m_data = obj.m2m_data, {}
        saved = super().save_obj(obj)
        if saved and links:
            self.article_links.append((instance.pk, links))
        return saved

    def _save_article_links(self) -> None:
        """Each relation of the saved articles as its record says, in a few statements.

        The same result as the deserializer's `set()`: an article's links not in its
        record are removed, the others added (a relation its record leaves out, or
        names only through a forward reference, is left to Django as before).
        """
        for name in ("diseases", "therapies", "tags"):
            field = Article._meta.get_field(name)
            through = field.remote_field.through
            source = through._meta.get_field(field.m2m_field_name()).attname
            target = through._meta.get_field(field.m2m_reverse_field_name()).attname
            wanted = [(pk, links[name]) for pk, links in self.article_links if name in links]
            if not wanted:
                continue
            rows = through._default_manager.using(self.using)
            article_ids = [pk for pk, _values in wanted]
            for start in range(0, len(article_ids), LINK_BATCH):
                chunk = article_ids[start : start + LINK_BATCH]
                rows.filter(**{f"{source}__in": chunk}).delete()
            rows.bulk_create(
                [
                    through(**{source: pk, target: value})
                    for pk, values in wanted
                    for value in dict.fromkeys(values)
                ],
                batch_size=LINK_BATCH,
            )
