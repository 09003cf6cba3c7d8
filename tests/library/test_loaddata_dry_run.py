"""`loaddata --dry-run` changes nothing and says what a load would do; progress on a terminal."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from library.models import Article
from search.backends import get_backend
from tests.conftest import make_article, make_disease
from tests.library.test_fixtures import snapshot

pytestmark = pytest.mark.django_db


def article(slug: str, **fields) -> dict:
    base = {
        "title": slug.title(),
        "slug": slug,
        "summary": "S.",
        "body": "B.",
        "status": "published",
    }
    return {"model": "library.article", "fields": base | fields}


def test_a_dry_run_reports_by_slug_and_changes_neither_database_nor_index(
    tmp_path, django_capture_on_commit_callbacks
):
    lupus = make_disease("Lupus", slug="lupus")
    with django_capture_on_commit_callbacks(execute=True):
        make_article("Same", slug="same", summary="S.", body="B.", published_on=None)
        make_article("Edited", slug="edited", summary="Old summary.", diseases=[lupus])
    same = Article.objects.get(slug="same")
    fixture = tmp_path / "incoming.json"
    fixture.write_text(
        json.dumps(
            [
                article("same", title="Same", published_on=same.published_on.isoformat()),
                article("edited", title="Edited", summary="New summary.", diseases=[["lupus"]]),
                article("brand-new", diseases=[["lupus"]]),
            ]
        )
    )
    before, indexed_before = snapshot(), get_backend().indexed()

    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        call_command("loaddata", str(fixture), "--dry-run", stdout=out)

    report = out.getvalue()
    assert "would create library.article “brand-new”" in report
    assert "would update library.article “edited”" in report
    assert "would leave unchanged library.article “same”" in report
    assert "1 to create, 1 to update, 1 unchanged. Nothing was written." in report
    assert snapshot() == before
    assert get_backend().indexed() == indexed_before
    assert callbacks == []


def test_a_dry_run_of_a_bad_file_fails_like_a_load(tmp_path):
    fixture = tmp_path / "bad.json"
    fixture.write_text(json.dumps([article("x", diseases=[["nope"]])]))
    with pytest.raises(CommandError, match="unknown disease slug “nope”"):
        call_command("loaddata", str(fixture), "--dry-run", stdout=io.StringIO())


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_a_load_shows_progress_and_a_final_rate(tmp_path):
    fixture = tmp_path / "many.json"
    fixture.write_text(json.dumps([article(f"a-{n}") for n in range(260)]))
    out = Terminal()
    call_command("loaddata", str(fixture), stdout=out)
    text = out.getvalue()
    assert "Validated 1 file(s)" in text
    assert "\rSaved 250 articles…" in text
    assert "Saved 260 articles; indexing them after the commit…" in text
    assert "Loaded and indexed 260 articles in" in text and "articles/s)" in text

    quiet = io.StringIO()  # not a terminal: Django's usual single line only
    call_command("loaddata", str(fixture), stdout=quiet)
    assert "Saved" not in quiet.getvalue()
