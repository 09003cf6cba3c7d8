"""Content readers can trust, part 2 (issue 20), carried to libraries loaded before it.

Data only, and data-driven: beside this file, `0008_reader_trust_content/before/` holds
the shipped fixtures as they were (commit 6a3e8c4) and `.../after/` the fixtures this
release ships. The step changes an existing library the way "after" differs from
"before", and keeps whatever editors changed since:

- a field of a shipped article (by slug) whose value still equals "before" takes the
  "after" value; a value an editor changed is left alone;
- diseases, therapies and tags of an article, and aliases of a term, change element by
  element: what "after" adds is added, what it drops is removed, an editor's own
  additions and removals stay;
- names and descriptions of terms change only while they still read as shipped;
- articles and terms new in "after" are created; an article or term an editor deleted
  is not brought back;
- a tag "after" no longer ships is removed when "after" redirects its old address
  (`library.tagredirect` records), the redirect created; otherwise it is removed only
  once no article uses it;
- every article changed gets a new `updated_at` (so `update_index` re-indexes it) and one
  revision, "Updated to the issue 20 content", which dates its "Updated" line; articles
  of a renamed or re-aliased term get the new `updated_at` only.

A library holding none of the shipped articles is left alone: on a fresh install the
migrations run first and `load_shipped_content` then loads the "after" fixtures into the
empty library. Running the step twice changes nothing the second time.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

from django.conf import settings
from django.db import migrations
from django.utils import timezone

HERE = Path(__file__).with_suffix("")
TERMS = ("library.disease", "library.therapy", "library.tag")
RELATIONS = ("diseases", "therapies", "tags")
NOT_CARRIED = {"slug", "created_at", "updated_at", *RELATIONS}
REASON = "Updated to the issue 20 content"


def read(kind: str) -> tuple[dict, dict, dict]:
    """(terms by (model, slug), articles by slug, tag redirects by old slug) of one copy."""
    terms, articles, redirects = {}, {}, {}
    for name in ("taxonomy", "articles"):
        for record in json.loads((HERE / kind / f"{name}.json").read_text(encoding="utf-8")):
            label, fields = record["model"].lower(), record["fields"]
            if label in TERMS:
                terms[(label, fields["slug"])] = fields
            elif label == "library.article":
                articles[fields["slug"]] = fields
            elif label == "library.tagredirect":
                redirects[fields["old_slug"]] = fields
    return terms, articles, redirects


def split_lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def merge_lines(current: str, before: str, after: str) -> str:
    """Aliases as they are, minus those "after" dropped, plus those it added; still as
    shipped, they become exactly "after" (its order included)."""
    if current.strip() == (before or "").strip():
        return after
    old = {a.casefold() for a in split_lines(before)}
    new = {a.casefold() for a in split_lines(after)}
    kept = [a for a in split_lines(current) if a.casefold() not in old - new]
    present = {a.casefold() for a in kept}
    added = [a for a in split_lines(after) if a.casefold() not in old | present]
    return "\n".join(kept + added)


def merge_slugs(current: set[str], before: list, after: list) -> set[str]:
    old, new = {key[0] for key in before}, {key[0] for key in after}
    return (current - (old - new)) | (new - old)


def python_value(field, value):
    return field.to_python(value) if value is not None else None


def upgrade_terms(apps, before: dict, after: dict, reindex: set[int]) -> None:
    for (label, slug), new in after.items():
        model = apps.get_model(label)
        old = before.get((label, slug))
        row = model.objects.filter(slug=slug).first()
        if row is None:
            if old is None and not model.objects.filter(name=new["name"]).exists():
                model.objects.create(**new)
            continue
        changes = {}
        if "aliases" in new:
            aliases = merge_lines(row.aliases, (old or {}).get("aliases", ""), new["aliases"])
            if aliases != row.aliases:
                changes["aliases"] = aliases
        for name, value in new.items():
            if name in ("slug", "aliases") or old is None or name not in old:
                continue
            if value != old[name] and getattr(row, name) == old[name]:
                if name == "name" and model.objects.filter(name=value).exists():
                    continue  # an editor already gave another term this name
                changes[name] = value
        if changes:
            model.objects.filter(pk=row.pk).update(**changes)
            reindex.update(row.articles.values_list("pk", flat=True))


def remove_dropped_tags(apps, before: dict, after: dict, redirects: dict, touched) -> None:
    Tag = apps.get_model("library", "Tag")
    TagRedirect = apps.get_model("library", "TagRedirect")
    for label, slug in before:
        if label != "library.tag" or (label, slug) in after:
            continue
        tag = Tag.objects.filter(slug=slug).first()
        if tag is None:
            continue
        users = set(tag.articles.values_list("pk", flat=True))
        if slug in redirects or not users:
            touched.update(users)
            tag.delete()
    for old_slug, fields in redirects.items():
        if not Tag.objects.filter(slug=old_slug).exists():
            TagRedirect.objects.get_or_create(
                old_slug=old_slug,
                defaults={k: v for k, v in fields.items() if k != "old_slug"},
            )


def upgrade_articles(apps, before: dict, after: dict, terms: dict, touched: set[int]) -> None:
    Article = apps.get_model("library", "Article")
    for slug, new in after.items():
        old = before.get(slug)
        row = Article.objects.filter(slug=slug).first()
        if row is None:
            if old is None:
                touched.add(create_article(apps, new, terms).pk)
            continue  # shipped before and deleted since: an editor's choice
        if old is None:
            continue  # an editor's own article with this slug, or created by a first run
        changes = {}
        for name in (set(new) | set(old)) - NOT_CARRIED:
            field = Article._meta.get_field(name)
            default = field.get_default()
            was = python_value(field, old.get(name, default))
            will = python_value(field, new.get(name, default))
            if was != will and getattr(row, field.attname) == was:
                changes[field.attname] = will
        if changes:
            Article.objects.filter(pk=row.pk).update(**changes)
            touched.add(row.pk)
        for name in RELATIONS:
            relation = getattr(row, name)
            current = set(relation.values_list("slug", flat=True))
            wanted = merge_slugs(current, old.get(name, []), new.get(name, []))
            if wanted != current:
                target = relation.model
                ensure_terms(target, wanted - current, terms)
                relation.remove(*relation.filter(slug__in=current - wanted))
                relation.add(*target.objects.filter(slug__in=wanted - current))
                touched.add(row.pk)


def create_article(apps, fields: dict, terms: dict):
    """A new shipped article, filed as shipped: a term it names that this library lacks
    (one that came with the fixtures after the last upgrade) is created from "after"."""
    Article = apps.get_model("library", "Article")
    plain = {k: v for k, v in fields.items() if k not in RELATIONS}
    values = {
        Article._meta.get_field(name).attname: python_value(Article._meta.get_field(name), value)
        for name, value in plain.items()
    }
    article = Article.objects.create(**values)
    if article.last_reviewed_on and not article.next_review_due:
        article.next_review_due = article.last_reviewed_on + datetime.timedelta(
            days=settings.REVIEW_INTERVAL_DAYS
        )
        article.save(update_fields=["next_review_due"])
    for name in RELATIONS:
        relation = getattr(article, name)
        slugs = [k[0] for k in fields.get(name, [])]
        ensure_terms(relation.model, slugs, terms)
        relation.set(relation.model.objects.filter(slug__in=slugs))
    return article


def ensure_terms(model, slugs, terms: dict) -> None:
    """Create the terms among `slugs` that this library lacks, as "after" ships them: ones
    that came with the fixtures after the library's last upgrade."""
    label = model._meta.label_lower
    for slug in set(slugs) - set(model.objects.values_list("slug", flat=True)):
        term = terms.get((label, slug))
        if term and not model.objects.filter(name=term["name"]).exists():
            model.objects.create(**term)


def record_revisions(apps, ids: set[int], now) -> None:
    """One revision per changed article, as django-simple-history would write it.

    The same rows 0003_editorial writes for its baseline: a migration keeps its own
    frozen copy rather than import code that may change after it shipped.
    """
    Article = apps.get_model("library", "Article")
    Historical = apps.get_model("library", "HistoricalArticle")
    kept = {f.attname for f in Historical._meta.concrete_fields}
    fields = [f.attname for f in Article._meta.concrete_fields if f.attname in kept]
    for article in Article.objects.filter(pk__in=ids).order_by("pk"):
        revision = Historical.objects.create(
            history_date=now,
            history_type="~",
            history_change_reason=REASON,
            **{name: getattr(article, name) for name in fields},
        )
        for name, target in (("diseases", "disease"), ("therapies", "therapy"), ("tags", "tag")):
            model = apps.get_model("library", f"HistoricalArticle_{name}")
            through = getattr(Article, name).through
            model.objects.bulk_create(
                model(
                    history=revision,
                    id=row.id,
                    article_id=row.article_id,
                    **{f"{target}_id": getattr(row, f"{target}_id")},
                )
                for row in through.objects.filter(article_id=article.pk)
            )


def upgrade_content(apps, schema_editor) -> None:
    before_terms, before_articles, _ = read("before")
    after_terms, after_articles, redirects = read("after")
    Article = apps.get_model("library", "Article")
    if not Article.objects.filter(slug__in=list(before_articles)).exists():
        return  # a fresh or foreign library: `load_shipped_content` loads "after" itself
    changed: set[int] = set()  # articles whose own content changed: a revision each
    reindex: set[int] = set()  # articles whose terms were renamed or re-aliased
    upgrade_terms(apps, before_terms, after_terms, reindex)
    upgrade_articles(apps, before_articles, after_articles, after_terms, changed)
    remove_dropped_tags(apps, before_terms, after_terms, redirects, changed)
    now = timezone.now()
    Article.objects.filter(pk__in=changed | reindex).update(updated_at=now)
    record_revisions(apps, changed, now)


class Migration(migrations.Migration):
    dependencies = [("library", "0008_tagredirect_to_a_tag")]

    operations = [migrations.RunPython(upgrade_content, migrations.RunPython.noop)]
