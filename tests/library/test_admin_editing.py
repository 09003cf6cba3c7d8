"""Safer editing in the admin: body search, the preview endpoint, the form's script."""

from __future__ import annotations

import pytest

from tests.conftest import make_article

pytestmark = pytest.mark.django_db


def test_admin_search_looks_in_the_body(editor_client):
    make_article("Treatment options", body="Some patients take mycophenolate.")
    make_article("Unrelated", body="Nothing here.")
    page = editor_client.get("/admin/library/article/", {"q": "mycophenolate"}).content.decode()
    assert "Treatment options" in page and "Unrelated" not in page


def test_the_preview_renders_markdown_sanitised_as_readers_see_it(editor_client):
    body = "## Dosing\n\n**Bold** <script>alert(1)</script> [x](javascript:alert(1))"
    response = editor_client.post("/admin/library/article/preview/", {"body": body})
    html = response.content.decode()
    assert "<h2" in html and "<strong>Bold</strong>" in html
    assert "<script" not in html and "javascript:" not in html

    article = make_article(slug="same", body=body)
    reader_page = editor_client.get(article.get_absolute_url()).content.decode()
    assert html.strip() in reader_page  # exactly what the article page shows

    assert editor_client.get("/admin/library/article/preview/").status_code == 405
    editor_client.logout()
    assert editor_client.post("/admin/library/article/preview/", {"body": "x"}).status_code == 302


def test_the_change_form_loads_its_script_without_inline_code(editor_client):
    article = make_article()
    page = editor_client.get(f"/admin/library/article/{article.pk}/change/").content.decode()
    assert 'src="/static/js/admin-article.js"' in page
    assert 'id="body-preview-button" data-preview-url="/admin/library/article/preview/"' in page
    assert "onbeforeunload" not in page and "onclick" not in page
