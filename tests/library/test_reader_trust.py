"""What tells a reader how far to trust an article (issue 20): one review line, the
editorial policy, the Key points box (also the answer text in search), the "Updated"
line dated from the revisions, the source's own keywords, and topic chips that are
topics."""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from library.models import PROMOTIONAL_TAG_NAMES, Article, TagRedirect
from search.index import rebuild
from tests.conftest import make_article, make_tag, make_therapy
from tests.library.test_review import review_lines

pytestmark = pytest.mark.django_db

FIXTURES = Path(settings.BASE_DIR) / "fixtures"
POLICY = "/about/editorial-policy/"


def footer(page: str) -> str:
    return page.split('<footer class="article-footer">', 1)[1].split("</footer>", 1)[0]


def chip_names(page: str) -> list[str]:
    """The names on an article page's tag chips."""
    return re.findall(r'<a class="chip" href="/tags/[^"]+/">([^<]+)</a>', footer(page))


def tag_facet(page: str) -> list[str]:
    return re.findall(r'data-facet="tag" data-value="([^"]+)"', page)


# Review status and the editorial policy


def test_every_published_shipped_article_has_one_review_line_and_links_the_policy(
    client, shipped_content
):
    articles = list(Article.objects.published())
    assert articles
    for article in articles:
        page = client.get(article.get_absolute_url()).content.decode()
        lines = review_lines(page)
        assert len(lines) == 1, article.slug
        assert lines[0].startswith(
            ("Medically reviewed by ", "This article has not yet been medically reviewed.")
        ), article.slug
        assert f'href="{POLICY}"' in footer(page), article.slug


@pytest.mark.parametrize(
    "path", sorted(FIXTURES.rglob("*.json")), ids=lambda p: str(p.relative_to(FIXTURES))
)
def test_no_fixture_names_a_reviewer_unless_the_article_is_a_draft(path):
    for record in json.loads(path.read_text(encoding="utf-8")):
        fields = record["fields"]
        if record["model"] == "library.article" and (
            fields.get("reviewed_by") or fields.get("last_reviewed_on")
        ):
            assert fields.get("status", "draft") == "draft", fields["slug"]


def test_the_example_reviewer_is_obviously_fictional():
    records = json.loads((FIXTURES / "examples" / "example-articles.json").read_text())
    (example,) = [r["fields"] for r in records if r["model"] == "library.article"]
    assert example["status"] == "draft"
    assert "fictional" in example["reviewed_by"] and "not a real reviewer" in example["reviewed_by"]


def test_the_editorial_policy_page_answers_what_readers_ask(client, settings):
    settings.CORRECTIONS_EMAIL = "corrections@example.org"
    page = client.get(POLICY).content.decode()

    headings = dict(re.findall(r'<h2 id="([^"]+)">([^<]+)</h2>', page))
    assert headings == {
        "who-writes": "Who writes the articles",
        "checking": "How articles are checked",
        "reviewed": "What “medically reviewed” means here",
        "sources": "How sources are chosen",
        "report-an-error": "How to report an error",
        "corrections": "How corrections are shown",
    }
    assert '<a href="mailto:corrections@example.org">' in page
    assert "has not yet been medically reviewed" in page and "Updated" in page

    settings.CORRECTIONS_EMAIL = ""
    assert "has not published an address for reports yet" in client.get(POLICY).content.decode()


# Key points


def test_key_points_are_a_list_in_a_box_at_the_top_of_the_article(client):
    article = make_article(
        key_points="HSCT is a strong treatment.\n\n  It is not for everyone.  \nAsk a specialist.",
        body="## What it is\n\nBody text.",
    )
    page = client.get(article.get_absolute_url()).content.decode()

    box = re.search(
        r'<section class="key-points" aria-labelledby="([^"]+)">(.*?)</section>', page, re.S
    )
    assert box is not None
    assert f'<h2 id="{box.group(1)}" class="small-heading">Key points</h2>' in box.group(2)
    assert re.findall(r"<li>(.*?)</li>", box.group(2)) == [
        "HSCT is a strong treatment.",
        "It is not for everyone.",
        "Ask a specialist.",
    ]
    assert page.index('class="key-points"') < page.index('<div class="prose">')

    plain = make_article()
    assert "key-points" not in client.get(plain.get_absolute_url()).content.decode()


def test_a_search_answers_with_a_key_point(client):
    make_article(
        "Transplant recovery",
        summary="What recovery looks like.",
        body="Recovery takes months.",
        key_points="Most people stay in hospital for several weeks.\nFever needs urgent help.",
    )
    rebuild()

    response = client.get("/articles/", {"q": "fever urgent"})

    (item,) = response.context["listing"].items
    assert "<mark>Fever</mark> needs <mark>urgent</mark> help." in item.highlight


# Updated DATE: what changed


def test_the_updated_line_is_dated_by_the_revision_that_set_the_note(
    client, committed, django_capture_on_commit_callbacks
):
    article = make_article("Islets", slug="islets")
    committed()

    def save(**changes):
        for name, value in changes.items():
            setattr(article, name, value)
        with django_capture_on_commit_callbacks(execute=True):  # as a committed admin save
            article.save()

    save(update_note="Updated: stem-cell-derived islets are now in phase 3 trials.")
    save(title="Islets and diabetes")  # a later save keeping the note
    dates = [datetime.datetime(2026, month, 1, 12, tzinfo=datetime.UTC) for month in (1, 2, 3)]
    for revision, when in zip(article.history.order_by("history_id"), dates, strict=True):
        article.history.filter(history_id=revision.history_id).update(history_date=when)

    def updated_line() -> str:
        page = client.get(article.get_absolute_url()).content.decode()
        found = re.findall(r"<p class=\"meta update-note\"[^>]*>(.*?)</p>", page, re.S)
        return re.sub(r"<[^>]+>", "", found[0]) if found else ""

    assert updated_line() == (
        "Updated 1 February 2026: Updated: stem-cell-derived islets are now in phase 3 trials."
    )

    save(update_note="")
    assert updated_line() == ""
    save(update_note="Updated: stem-cell-derived islets are now in phase 3 trials.")
    today = timezone.localdate()
    assert updated_line().startswith(f"Updated {today.day} {today:%B %Y}: ")


def test_the_updated_line_sits_with_the_review_line(client):
    article = make_article(update_note="Corrected: the trial compared HSCT with standard drugs.")
    page = client.get(article.get_absolute_url()).content.decode()
    review, update = (
        page.index('class="meta review-status"'),
        page.index('class="meta update-note"'),
    )
    assert review < update < page.index('class="lead"')


# The source's keywords and topic chips


def test_source_keywords_are_the_sources_words_not_topic_chips(client):
    article = make_article(
        source_name="NestFact",
        source_url="https://example.org/article",
        source_keywords="Stem cell hope, Clinical trials,  ,Future medicine",
    )
    page = client.get(article.get_absolute_url()).content.decode()

    assert (
        '<p class="meta source-keywords">NestFact’s keywords: '
        "Stem cell hope, Clinical trials, Future medicine</p>"
    ) in page
    assert chip_names(page) == []


def test_promotional_words_are_never_topic_chips_or_filters(client):
    promotional = [make_tag(name) for name in PROMOTIONAL_TAG_NAMES]
    shouting = make_tag("STEM CELL HOPE!", slug="stem-cell-hope-shouting")
    trials = make_tag("Clinical trials", slug="clinical-trials")
    articles = [make_article(tags=[*promotional, trials]) for _ in range(3)]
    make_article(tags=[trials, shouting])

    page = client.get(articles[0].get_absolute_url()).content.decode()
    assert chip_names(page) == ["Clinical trials"]
    assert tag_facet(client.get("/articles/").content.decode()) == ["clinical-trials"]
    rebuild()
    searched = client.get("/articles/", {"q": "summary"}).content.decode()
    assert tag_facet(searched) == ["clinical-trials"]
    # The page of a promotional tag still answers (its old links keep working).
    assert client.get(f"/tags/{promotional[0].slug}/").context["listing"].total == 3


def test_a_tag_on_one_published_article_is_not_offered_as_a_filter_but_its_page_works(client):
    single, shared = make_tag("Fertility", slug="fertility"), make_tag("Trials", slug="trials")
    one = make_article(tags=[single, shared])
    make_article(tags=[shared])
    make_article(tags=[single], status=Article.Status.DRAFT)  # drafts do not count

    assert tag_facet(client.get("/articles/").content.decode()) == ["trials"]
    assert chip_names(client.get(one.get_absolute_url()).content.decode()) == ["Trials"]
    rebuild()
    assert tag_facet(client.get("/articles/", {"q": "summary"}).content.decode()) == ["trials"]

    page = client.get("/tags/fertility/")
    assert page.status_code == 200 and page.context["listing"].total == 1
    # Chosen anyway (an old link), it stays listed so that it can be removed.
    chosen = client.get("/articles/", {"tag": "fertility"}).content.decode()
    assert "fertility" in tag_facet(chosen)


def test_a_removed_tags_old_address_redirects_to_its_term(client):
    make_therapy("NSAIDs", slug="anti-inflammatory-drugs")
    TagRedirect.objects.create(
        old_slug="inflammation-relief", target_kind="therapy", target_slug="anti-inflammatory-drugs"
    )

    response = client.get("/tags/inflammation-relief/?page=1")

    assert response.status_code == 301
    assert response["Location"] == "/therapies/anti-inflammatory-drugs/?page=1"


def test_a_fixture_can_carry_tag_redirects_keyed_by_the_old_slug(tmp_path, client):
    make_therapy("HSCT", slug="hsct")
    fixture = tmp_path / "redirects.json"

    def load(**fields):
        record = {"old_slug": "stem-cell-hope", "target_kind": "therapy", "target_slug": "hsct"}
        fixture.write_text(
            json.dumps([{"model": "library.tagredirect", "fields": record | fields}])
        )
        call_command("loaddata", str(fixture), verbosity=0)

    load()
    load()  # loading again updates the redirect: keyed by its old slug, never duplicated
    assert TagRedirect.objects.filter(old_slug="stem-cell-hope").count() == 1
    assert client.get("/tags/stem-cell-hope/")["Location"] == "/therapies/hsct/"

    with pytest.raises(CommandError) as error:
        load(target_kind="article")
    assert "(slug “stem-cell-hope”): field 'target_kind'" in str(error.value)


def test_the_shipped_library_shows_no_promotional_chip_or_filter(client, indexed_library):
    promotional = {name.casefold() for name in PROMOTIONAL_TAG_NAMES}
    for article in Article.objects.published():
        page = client.get(article.get_absolute_url()).content.decode()
        assert not promotional & {name.casefold() for name in chip_names(page)}, article.slug
    for params in ({}, {"q": "stem cell"}):
        page = client.get("/articles/", params).content.decode()
        names = set(re.findall(r'data-facet="tag" data-value="[^"]+">([^<]+) <span', page))
        assert not promotional & {name.strip().casefold() for name in names}
