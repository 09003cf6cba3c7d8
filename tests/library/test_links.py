"""Stored XSS through links: only http(s) source links get in, by any path, or out.

Every hostile variant goes through each write path (admin, ORM, bulk queryset writes,
JSON and XML fixtures) and must be refused with the database unchanged; a bad link that
got into the database by raw SQL must still never reach an href on the page.
"""

from __future__ import annotations

import html
import json
import re
from xml.sax.saxutils import escape as xml_escape

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from library.models import Article
from library.validators import is_web_url
from tests.conftest import make_article

pytestmark = pytest.mark.django_db

HOSTILE_URLS = [
    "javascript:alert(document.domain)",
    "JaVaScRiPt:alert(document.domain)",
    "  javascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "\x01javascript:alert(1)",
    "javascript://example.org/%0Aalert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "DATA:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "https://example.org/\tjavascript:alert(1)",
    "ftp://example.org/file",
]
# XML 1.0 cannot carry C0 control characters other than tab and newline.
XML_HOSTILE_URLS = [url for url in HOSTILE_URLS if "\x01" not in url]
GOOD_URL = "https://clinicaltrials.gov/study/NCT00000000"


def hrefs(page: str) -> list[str]:
    return [html.unescape(value) for value in re.findall(r'href="([^"]*)"', page)]


def browser_scheme(href: str) -> str:
    """The scheme a browser would read: leading spaces and controls dropped, tabs and
    newlines removed, case folded; "" for a relative link."""
    cleaned = re.sub(r"[\t\n\r]", "", href.lstrip("".join(chr(c) for c in range(0x21))))
    match = re.match(r"([a-zA-Z][a-zA-Z0-9+.-]*):", cleaned)
    return match.group(1).lower() if match else ""


def assert_only_safe_links(page: str) -> None:
    schemes = {href: browser_scheme(href) for href in hrefs(page)}
    unsafe = {href: s for href, s in schemes.items() if s not in {"", "http", "https", "mailto"}}
    assert not unsafe, f"unsafe links on the page: {unsafe}"


def stored_source_urls() -> list[str]:
    return list(Article.objects.order_by("slug").values_list("source_url", flat=True))


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_the_validator_refuses_every_hostile_or_non_web_link(url):
    assert not is_web_url(url)


@pytest.mark.parametrize(
    "url", ["https://example.org/", "HTTP://EXAMPLE.ORG/a?b=c#d", GOOD_URL, "https://例え.jp/"]
)
def test_the_validator_accepts_web_links(url):
    assert is_web_url(url)


# --- Admin ---------------------------------------------------------------------------


def admin_form(article: Article | None, **changes) -> dict:
    data = {
        "title": "Trial news",
        "slug": "trial-news",
        "summary": "A summary.",
        "body": "A body.",
        "status": "published",
        "published_on": "2025-05-01",
        "source_name": "A registry",
        "source_url": GOOD_URL,
    }
    if article is not None:
        data.update(title=article.title, slug=article.slug, source_url=article.source_url)
    return data | changes


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_the_admin_refuses_a_hostile_source_link_and_saves_nothing(editor_client, url):
    article = make_article(title="Trial news", slug="trial-news", source_name="A registry",
                           source_url=GOOD_URL)  # fmt: skip
    before = stored_source_urls()

    added = editor_client.post(
        "/admin/library/article/add/", admin_form(None, slug="another", source_url=url)
    )
    changed = editor_client.post(f"/admin/library/article/{article.pk}/change/", admin_form(article, source_url=url))  # fmt: skip

    for response in (added, changed):
        assert response.status_code == 200  # the form again, with its errors
        assert "Please correct the error below." in response.content.decode()
        assert response.context["adminform"].form.errors["source_url"]
    assert stored_source_urls() == before
    assert not Article.objects.filter(slug="another").exists()


def test_the_admin_accepts_a_web_link(editor_client):
    response = editor_client.post("/admin/library/article/add/", admin_form(None))

    assert response.status_code == 302
    assert Article.objects.get(slug="trial-news").source_url == GOOD_URL


# --- ORM -----------------------------------------------------------------------------


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_orm_saves_refuse_a_hostile_source_link(url):
    article = make_article(source_name="A registry", source_url=GOOD_URL)
    before = stored_source_urls()

    with pytest.raises(ValidationError) as created:
        Article.objects.create(title="X", slug="x", summary="S", body="B", source_name="R",
                               source_url=url)  # fmt: skip
    article.source_url = url
    with pytest.raises(ValidationError):
        article.save()
    with pytest.raises(ValidationError):
        article.save(update_fields=["source_url"])

    assert "source_url" in created.value.message_dict
    assert stored_source_urls() == before


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_bulk_queryset_writes_refuse_a_hostile_source_link(url):
    article = make_article(source_name="A registry", source_url=GOOD_URL)
    before = stored_source_urls()

    with pytest.raises(ValidationError):
        Article.objects.filter(pk=article.pk).update(source_url=url)
    with pytest.raises(ValidationError):
        Article.objects.bulk_create([Article(title="X", slug="x", summary="S", body="B",
                                             source_name="R", source_url=url)])  # fmt: skip
    article.source_url = url
    with pytest.raises(ValidationError):
        Article.objects.bulk_update([article], ["source_url"])

    assert stored_source_urls() == before


def test_web_links_save_through_every_orm_path():
    article = make_article(source_name="A registry", source_url=GOOD_URL)
    Article.objects.filter(pk=article.pk).update(source_url="https://example.org/updated")
    Article.objects.bulk_create([Article(title="X", slug="x", summary="S", body="B",
                                         source_name="R", source_url="http://example.org/")])  # fmt: skip

    assert stored_source_urls() == ["https://example.org/updated", "http://example.org/"]


# --- Fixtures ------------------------------------------------------------------------


def json_fixture(tmp_path, url: str):
    record = {
        "model": "library.article",
        "fields": {"title": "Loaded", "slug": "loaded", "summary": "S", "body": "B",
                   "status": "published", "published_on": "2025-05-01",
                   "source_name": "A registry", "source_url": url},
    }  # fmt: skip
    path = tmp_path / "incoming.json"
    path.write_text(json.dumps([record]))
    return path


def xml_fixture(tmp_path, url: str):
    fields = {"title": "Loaded", "slug": "loaded", "summary": "S", "body": "B",
              "status": "published", "published_on": "2025-05-01",
              "source_name": "A registry", "source_url": url}  # fmt: skip
    body = "".join(
        f'<field name="{name}" type="CharField">{xml_escape(value, {chr(9): "&#9;", chr(10): "&#10;"})}</field>'
        for name, value in fields.items()
    )
    path = tmp_path / "incoming.xml"
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<django-objects version="1.0">'
        f'<object model="library.article">{body}</object></django-objects>'
    )
    return path


@pytest.mark.parametrize("fixture", [json_fixture, xml_fixture])
def test_a_fixture_with_a_web_link_loads(tmp_path, fixture):
    call_command("loaddata", str(fixture(tmp_path, GOOD_URL)), verbosity=0)

    assert Article.objects.get(slug="loaded").source_url == GOOD_URL


@pytest.mark.parametrize(
    ("fixture", "url"),
    [(json_fixture, url) for url in HOSTILE_URLS]
    + [(xml_fixture, url) for url in XML_HOSTILE_URLS],
)
def test_a_fixture_with_a_hostile_link_loads_nothing(tmp_path, fixture, url):
    make_article(slug="existing", source_name="A registry", source_url=GOOD_URL)
    before = stored_source_urls()

    with pytest.raises(CommandError) as error:
        call_command("loaddata", str(fixture(tmp_path, url)), verbosity=0)

    assert "Nothing was loaded" in str(error.value)
    assert "source_url" in str(error.value)
    assert "http:// or https://" in str(error.value)
    assert stored_source_urls() == before


@pytest.mark.parametrize("url", XML_HOSTILE_URLS[:3])
def test_djangos_raw_fixture_save_is_refused_by_the_model_too(tmp_path, url):
    """Even Django's own loaddata (no record validation) cannot store the link."""
    from django.core.management.commands.loaddata import Command as DjangoLoaddata

    before = stored_source_urls()

    with pytest.raises(ValidationError):
        call_command(DjangoLoaddata(), str(xml_fixture(tmp_path, url)), verbosity=0)

    assert stored_source_urls() == before


# --- Rendering -----------------------------------------------------------------------


def test_a_web_source_link_is_rendered(client):
    article = make_article(source_name="A registry", source_url=GOOD_URL)

    page = client.get(article.get_absolute_url()).content.decode()

    assert f'href="{GOOD_URL}"' in page
    assert_only_safe_links(page)


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_a_hostile_link_already_in_the_database_never_reaches_an_href(client, url):
    article = make_article(source_name="A registry", source_url=GOOD_URL)
    with connection.cursor() as cursor:  # as if written before validation existed
        cursor.execute(
            "UPDATE library_article SET source_url = %s WHERE id = %s", [url, article.pk]
        )

    page = client.get(article.get_absolute_url()).content.decode()

    assert "Source: A registry" in page  # the name stays, as plain text
    assert_only_safe_links(page)
    assert "script:" not in "".join(re.sub(r"\s", "", h).lower() for h in hrefs(page))
