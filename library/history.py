"""Revisions of articles: recording them in bulk, comparing two, reverting to one.

django-simple-history records a revision on every ordinary save (with the article's
diseases, therapies and tags, and the user from `HistoryRequestMiddleware`). Paths
that bypass model signals or would record one revision per many-to-many `set()`
(bulk actions, fixture loads) pause it and call `record_revisions` once per article,
in a fixed number of queries per chunk. Comparing and reverting live here so that the
admin views stay thin.
"""

from __future__ import annotations

import datetime
import difflib
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import Value
from django.utils import timezone
from django.utils.html import escape, format_html_join
from django.utils.safestring import SafeString, mark_safe
from simple_history.models import HistoricalRecords

from library.models import Article, history_paused

CHUNK_SIZE = 500
# How far back `update_note_date` looks: a note kept through more saves than this is
# dated from the oldest of them, which is still a day it was shown.
NOTE_REVISIONS_READ = 200
TAXONOMY = ("diseases", "therapies", "tags")
COMPARED_FIELDS = (
    "title",
    "slug",
    "summary",
    "status",
    "published_on",
    "source_name",
    "source_url",
    "last_reviewed_on",
    "reviewed_by",
    "next_review_due",
    "key_points",
    "source_keywords",
    "update_note",
)


@contextmanager
def paused() -> Iterator[None]:
    """Record no revisions automatically inside the block (the caller records them)."""
    token = history_paused.set(True)
    try:
        yield
    finally:
        history_paused.reset(token)


def _current_user():
    request = getattr(HistoricalRecords.context, "request", None)
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def record_revisions(
    article_ids: Iterable[int], *, reason: str, user=None, using: str = DEFAULT_DB_ALIAS
) -> int:
    """One revision (with taxonomy) for each of these articles as they are now.

    `user` defaults to the user of the current request, if any. Returns how many
    revisions were written.
    """
    ids = sorted(set(article_ids))
    user = user or _current_user()
    written = 0
    for start in range(0, len(ids), CHUNK_SIZE):
        articles = list(Article.objects.using(using).filter(pk__in=ids[start : start + CHUNK_SIZE]))
        revisions = (
            Article.history.bulk_history_create(
                articles, update=True, default_user=user, default_change_reason=reason[:100]
            )
            or []
        )  # None when SIMPLE_HISTORY_ENABLED is off
        record_taxonomy(revisions, using=using)
        written += len(revisions)
    return written


def record_taxonomy(revisions: Iterable, *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Store with each revision its article's diseases, therapies and tags as they are now.

    One `SELECT` of the three relations' link rows (their ids only, `UNION ALL`) and
    one `INSERT` per relation that has rows, however many revisions: the same rows
    django-simple-history writes, which it reads with a join of every term's whole row,
    one relation at a time. simple-history's `pre_`/`post_create_historical_m2m_records`
    signals are not sent; nothing here listens for them.
    """
    by_article = {revision.id: revision for revision in revisions}
    if not by_article:
        return
    # (relation, its link table's column for the term: "disease_id", "therapy_id", "tag_id")
    relations = [
        (name, f"{getattr(Article, name).field.m2m_reverse_field_name()}_id") for name in TAXONOMY
    ]
    links = [
        getattr(Article, name)
        .through.objects.using(using)
        .filter(article_id__in=by_article)
        .annotate(relation=Value(number))
        .values_list("relation", "id", "article_id", term)
        for number, (name, term) in enumerate(relations)
    ]
    rows: dict[int, list] = {}
    for number, link_id, article_id, term_id in links[0].union(*links[1:], all=True):
        rows.setdefault(number, []).append((link_id, article_id, term_id))
    for number, found in sorted(rows.items()):
        name, term = relations[number]
        model = apps.get_model("library", f"HistoricalArticle_{name}")
        model.objects.using(using).bulk_create(
            model(
                history=by_article[article_id], id=link_id, article_id=article_id, **{term: term_id}
            )
            for link_id, article_id, term_id in found
        )


def update_note_date(article: Article) -> datetime.date | None:
    """The day the article's current `update_note` was set, from its revisions.

    That is the earliest revision of the latest unbroken run of revisions carrying the
    note as it reads now: later saves that keep the note do not move its date, and a
    note removed and later restored is dated from its return. One query; None when the
    article has no note, or no revision carries it (history switched off).
    """
    note = article.update_note.strip()
    if not note:
        return None
    found = None
    revisions = article.history.order_by("-history_date", "-history_id").values_list(
        "update_note", "history_date"
    )
    for text, when in revisions[:NOTE_REVISIONS_READ]:
        if (text or "").strip() != note:
            break
        found = when
    return timezone.localdate(found) if found is not None else None


@dataclass(frozen=True)
class FieldChange:
    name: str
    label: str
    old: str
    new: str
    diff: SafeString  # safe HTML: <del>/<ins> around changed words, all text escaped

    @property
    def changed(self) -> bool:
        return self.old != self.new


def taxonomy_of(revision) -> dict[str, list[str]]:
    """The slugs of a revision's diseases, therapies and tags, as they were then."""
    result = {}
    for name in TAXONOMY:
        model = getattr(Article, name).field.related_model
        ids = getattr(revision, name).values_list(model._meta.model_name, flat=True)
        result[name] = sorted(model.objects.filter(pk__in=list(ids)).values_list("slug", flat=True))
    return result


def word_diff(old: str, new: str) -> SafeString:
    """The new text with removed words in <del> and added ones in <ins>, escaped.

    Changes separated only by spaces are joined, so a rewritten sentence reads as one
    deletion and one insertion rather than word-by-word confetti.
    """
    before, after = re.split(r"(\s+)", old), re.split(r"(\s+)", new)
    segments: list[list[str]] = []  # ["=", text] or ["~", old, new]
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        a, b = "".join(before[a1:a2]), "".join(after[b1:b2])
        if op != "equal":
            joinable = len(segments) >= 2 and segments[-2][0] == "~"
            if joinable and segments[-1][0] == "=" and segments[-1][1].isspace():
                space = segments.pop()[1]
                segments[-1][1] += space + a
                segments[-1][2] += space + b
                continue
            if segments and segments[-1][0] == "~":
                segments[-1][1] += a
                segments[-1][2] += b
            else:
                segments.append(["~", a, b])
        else:
            segments.append(["=", b])
    parts: list[str] = []
    for segment in segments:
        if segment[0] == "=":
            parts.append(escape(segment[1]))
            continue
        if segment[1]:
            parts.append(f"<del>{escape(segment[1])}</del>")
        if segment[2]:
            parts.append(f"<ins>{escape(segment[2])}</ins>")
    return mark_safe("".join(parts))  # every piece of text is escaped above


def body_diff(old: str, new: str) -> SafeString:
    """Changed paragraphs of the body, each as a word diff; unchanged ones left out."""
    before, after = old.splitlines(), new.splitlines()
    blocks: list[tuple[str]] = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op != "equal":
            blocks.append((word_diff("\n".join(before[a1:a2]), "\n".join(after[b1:b2])),))
    return format_html_join("", '<pre class="diff">{}</pre>', blocks)


def compare(old, new) -> list[FieldChange]:
    """Every compared field of two revisions (old first), the body and taxonomy included."""
    changes = []
    for name in COMPARED_FIELDS:
        label = str(Article._meta.get_field(name).verbose_name).capitalize()
        a, b = str(getattr(old, name) or ""), str(getattr(new, name) or "")
        changes.append(FieldChange(name, label, a, b, word_diff(a, b)))
    changes.append(FieldChange("body", "Body", old.body, new.body, body_diff(old.body, new.body)))
    old_terms, new_terms = taxonomy_of(old), taxonomy_of(new)
    for name in TAXONOMY:
        a, b = ", ".join(old_terms[name]), ", ".join(new_terms[name])
        changes.append(FieldChange(name, name.capitalize(), a, b, word_diff(a, b)))
    return changes


@transaction.atomic
def revert(article: Article, revision, *, user=None) -> Article:
    """Restore the article's fields and taxonomy from `revision`, as a new revision.

    It is an ordinary save, so the search index follows after the commit.
    """
    for name in (*COMPARED_FIELDS, "body"):
        setattr(article, name, getattr(revision, name))
    terms = taxonomy_of(revision)
    with paused():
        article.save()
        for name in TAXONOMY:
            model = getattr(Article, name).field.related_model
            getattr(article, name).set(model.objects.filter(slug__in=terms[name]))
    when = revision.history_date.strftime("%d %b %Y %H:%M")
    record_revisions([article.pk], reason=f"Reverted to the revision of {when}", user=user)
    return article
