"""Validation of fixture files in the public format, before anything is written.

Django's raw fixture saves skip model validation, and its errors name database ids
rather than records. `loaddata` (library/management/commands/loaddata.py) runs
`validate_fixture_files` first and refuses the whole load, naming the file, the record
(its slug or position) and the field, when anything is wrong.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models

# The library's content, and what editors teach search about it (issue 19): intents
# name tags, picks name an article, both by slug.
LIBRARY_MODELS = (
    "library.disease",
    "library.therapy",
    "library.tag",
    "library.article",
    "library.tagredirect",
    "search.intent",
    "search.editorspick",
)
# Each record is keyed by this field (its natural key); "slug" unless named here.
KEY_FIELDS = {"library.tagredirect": "old_slug", "search.editorspick": "query"}
PICK_MODEL = "search.editorspick"


REDIRECT_MODEL = "library.tagredirect"


def key_field(label: str) -> str:
    return KEY_FIELDS.get(label, "slug")


def record_key(label: str, fields: dict) -> str | None:
    """What identifies a record within its model: its slug; a pick's query and the
    slug of its article, since one article is pinned to a query once."""
    key = fields.get(key_field(label))
    if not isinstance(key, str) or not key:
        return None
    if label == PICK_MODEL:
        article = _natural_key_slug(fields.get("article"))
        return f"{key}” → “{article}" if article else None
    return key


def _row_key(label: str, row) -> str:
    key = getattr(row, key_field(label))
    return f"{key}” → “{row.article.slug}" if label == PICK_MODEL else key


class FixtureError(Exception):
    """A fixture failed validation; `problems` lists one human-readable line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def _record_label(index: int, fields: dict) -> str:
    slug = (fields.get("slug") or fields.get("old_slug")) if isinstance(fields, dict) else None
    if isinstance(slug, str) and slug:
        return f"record {index} (slug “{slug}”)"
    query = fields.get("query") if isinstance(fields, dict) else None
    if isinstance(query, str) and query:
        return f"record {index} (query “{query}”)"
    return f"record {index}"


def _messages(error: ValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return {
            name: [m for e in errs for m in e.messages] for name, errs in error.error_dict.items()
        }
    return {"__all__": error.messages}


def _natural_key_slug(value) -> str | None:
    """[["slug"]] entries are natural keys; a bare "slug" is accepted too."""
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], str):
        return value[0]
    if isinstance(value, str):
        return value
    return None


def read_records(path: Path) -> list:
    try:
        with path.open(encoding="utf-8") as handle:
            data = json.load(handle)
    except json.JSONDecodeError as error:
        raise FixtureError(
            [f"{path}: not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"]
        ) from error
    except UnicodeDecodeError as error:
        raise FixtureError([f"{path}: not UTF-8 text: {error.reason}"]) from error
    if not isinstance(data, list):
        raise FixtureError([f"{path}: a fixture must be a JSON list of records"])
    return data


def validate_fixture_files(paths: Iterable[Path]) -> dict[str, set[str]]:
    """Check every library record of these JSON fixture files; raise FixtureError if any fail.

    Slugs referenced by articles must exist in the database or be defined in one of
    the files; a slug may appear only once per model across the whole load. Returns
    the keys the files define, per model label (`LIBRARY_MODELS`).
    """
    problems: list[str] = []
    loaded = [(path, read_records(path)) for path in paths]

    defined: dict[str, dict[str, str]] = {label: {} for label in LIBRARY_MODELS}
    for path, records in loaded:
        for index, record in enumerate(records, start=1):
            if not isinstance(record, dict):
                problems.append(f"{path}: record {index}: each record must be a JSON object")
                continue
            label = str(record.get("model", "")).lower()
            fields = record.get("fields")
            if label not in defined or not isinstance(fields, dict):
                continue
            slug = record_key(label, fields)
            if slug:
                where = f"{path}: record {index}"
                if slug in defined[label]:
                    name = key_field(label) if label != PICK_MODEL else "query"
                    what = "the slug" if label != PICK_MODEL else "the query and article"
                    problems.append(
                        f"{where} ({name} “{fields[key_field(label)]}”): field '{name}': "
                        f"{what} “{slug}” is repeated ({label} already defined at "
                        f"{defined[label][slug]})"
                    )
                else:
                    defined[label][slug] = where

    existing: dict[str, set[str]] = {}
    for path, records in loaded:
        for index, record in enumerate(records, start=1):
            if not isinstance(record, dict):
                continue
            problems.extend(_validate_record(path, index, record, defined, existing))
    problems.extend(_picks_before_their_articles(loaded, defined, existing))
    if problems:
        raise FixtureError(problems)
    return {label: set(slugs) for label, slugs in defined.items()}


def _picks_before_their_articles(loaded, defined, existing) -> list[str]:
    """A pick is found again by its query and its article's slug as it is saved, so an
    article new to the library must come before the picks that name it."""
    problems: list[str] = []
    in_database = existing.get("library.article", set())
    later = set(defined["library.article"]) - in_database  # not yet seen in the load
    for path, records in loaded:
        for index, record in enumerate(records, start=1):
            if not isinstance(record, dict) or not isinstance(record.get("fields"), dict):
                continue
            label, fields = str(record.get("model", "")).lower(), record["fields"]
            if label == "library.article":
                later.discard(fields.get("slug"))
            elif label == PICK_MODEL and _natural_key_slug(fields.get("article")) in later:
                problems.append(
                    f"{path}: {_record_label(index, fields)}: field 'article': the article "
                    f"“{_natural_key_slug(fields['article'])}” comes later in this load; put "
                    "editors' picks after the articles they name"
                )
    return problems


def _validate_record(path, index, record, defined, existing) -> list[str]:
    label = record.get("model")
    fields = record.get("fields")
    where = f"{path}: {_record_label(index, fields)}"
    if not isinstance(label, str) or "." not in label:
        return [f"{where}: missing or malformed 'model' (expected e.g. “library.article”)"]
    if fields is None or not isinstance(fields, dict):
        return [f"{where}: missing 'fields' object"]
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        return [f"{where}: unknown model “{label}”"]
    if label.lower() == REDIRECT_MODEL:
        return _validate_redirect(where, model, fields, defined)
    if label.lower() not in LIBRARY_MODELS:
        return []

    problems: list[str] = []
    plain: dict = {}
    relations: dict[str, models.Field] = {}  # many-to-many, and foreign keys by natural key
    for name, value in fields.items():
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            problems.append(f"{where}: field '{name}': {label} has no such field")
            continue
        if field.many_to_many:
            relations[name] = field
        elif field.many_to_one:  # a disease's or therapy's Start here: ["article slug"] or null
            if value is not None:
                relations[name] = field
        elif field.concrete and not field.primary_key:
            plain[name] = value
        else:
            problems.append(f"{where}: field '{name}': records are keyed by slug, leave it out")

    instance = model(**plain)
    if label.lower() == "library.article" and "created_at" not in fields:
        # The review may not predate the article: compare with the article this record
        # updates, if any; a new record's creation date (the load) says nothing.
        instance.created_at = (
            model._default_manager.filter(slug=fields.get("slug"))
            .values_list("created_at", flat=True)
            .first()
            if fields.get("last_reviewed_on")
            else None
        )
    exclude = [f.name for f in model._meta.get_fields() if f.many_to_many or f.auto_created]
    exclude += list(relations)  # a foreign key by natural key is checked below
    try:
        instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        for name, messages in _messages(error).items():
            field_label = "record" if name == "__all__" else f"field '{name}'"
            if name != "__all__" and name not in fields:
                messages = ["this field is required"]
            problems.extend(f"{where}: {field_label}: {m}" for m in messages)

    for name, field in relations.items():
        value = [fields[name]] if field.many_to_one else fields[name]
        if not isinstance(value, list):
            problems.append(f"{where}: field '{name}': expected a list like [[\"slug\"]]")
            continue
        target = field.related_model._meta.label_lower
        if target not in existing:
            existing[target] = set(
                field.related_model._default_manager.values_list("slug", flat=True)
            )
        for item in value:
            slug = _natural_key_slug(item)
            if slug is None:
                problems.append(
                    f"{where}: field '{name}': {json.dumps(item)} is not a natural key like [\"slug\"]"
                )
            elif slug not in existing[target] and slug not in defined.get(target, {}):
                problems.append(
                    f"{where}: field '{name}': unknown {field.related_model._meta.verbose_name} "
                    f"slug “{slug}” (not in the database nor in this load)"
                )
    return problems


def _validate_redirect(where, model, fields, defined) -> list[str]:
    """A tag redirect: known fields, a valid kind, and a target that exists somewhere."""
    unknown = sorted(set(fields) - {"old_slug", "target_kind", "target_slug"})
    problems = [f"{where}: field '{name}': {REDIRECT_MODEL} has no such field" for name in unknown]
    instance = model(**{k: v for k, v in fields.items() if k not in unknown})
    try:
        instance.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        for name, messages in _messages(error).items():
            problems.extend(f"{where}: field '{name}': {m}" for m in messages)
        return problems
    target = f"library.{instance.target_kind}"
    target_model = apps.get_model(target)
    if (
        instance.target_slug not in defined.get(target, {})
        and not target_model._default_manager.filter(slug=instance.target_slug).exists()
    ):
        problems.append(
            f"{where}: field 'target_slug': unknown {instance.target_kind} slug "
            f"“{instance.target_slug}” (not in the database nor in this load)"
        )
    return problems


def fill_review_due(article_ids: Iterable[int], *, using: str = "default") -> int:
    """Give loaded articles reviewed without a next-review date the default one.

    Fixture (raw) saves bypass `Article.save()`, where the default is set otherwise.
    """
    from library.models import Article

    ids, done = sorted(set(article_ids)), 0
    for start in range(0, len(ids), 500):
        articles = list(
            Article.objects.using(using).filter(
                pk__in=ids[start : start + 500],
                last_reviewed_on__isnull=False,
                next_review_due__isnull=True,
            )
        )
        for article in articles:
            article.default_review_due()
        Article.objects.using(using).bulk_update(articles, ["next_review_due"])
        done += len(articles)
    return done


def plan_load(paths: Iterable[Path]) -> dict[str, list[str]]:
    """What loading these (already validated) files would do, by slug, writing nothing.

    Returns {"create": [...], "update": [...], "unchanged": [...]}, each entry
    "library.article “slug”". A record updates a row when any field it names differs
    (many-to-many fields compared as sets of slugs); fields it leaves out are not
    compared, as the load would leave them alone… except that a missing field takes
    its default on creation only.
    """
    plan: dict[str, list[str]] = {"create": [], "update": [], "unchanged": []}
    records: dict[str, list[dict]] = {label: [] for label in LIBRARY_MODELS}
    for path in paths:
        for record in read_records(path):
            label = str(record.get("model", "")).lower()
            if label in records:
                records[label].append(record["fields"])
    for label, items in records.items():
        model = apps.get_model(label)
        m2m = [f.name for f in model._meta.many_to_many]
        for start in range(0, len(items), 500):
            chunk = items[start : start + 500]
            key = key_field(label)
            existing = model._default_manager.filter(**{f"{key}__in": [r[key] for r in chunk]})
            if m2m:
                existing = existing.prefetch_related(*m2m)
            if label == PICK_MODEL:
                existing = existing.select_related("article")
            by_slug = {_row_key(label, row): row for row in existing}
            for fields in chunk:
                row = by_slug.get(record_key(label, fields))
                name = f"{label} “{record_key(label, fields)}”"
                if row is None:
                    plan["create"].append(name)
                elif _differs(model, row, fields):
                    plan["update"].append(name)
                else:
                    plan["unchanged"].append(name)
    return plan


def _differs(model, row, fields: dict) -> bool:
    for name, value in fields.items():
        field = model._meta.get_field(name)
        if field.many_to_many:
            current = {term.slug for term in getattr(row, name).all()}
            if current != {_natural_key_slug(item) for item in value}:
                return True
        elif field.many_to_one:  # ["slug"] or null: compare the slugs
            related = getattr(row, name)
            wanted = _natural_key_slug(value) if value is not None else None
            if (related.slug if related else None) != wanted:
                return True
        elif field.to_python(value) != getattr(row, field.attname):
            return True
    return False
