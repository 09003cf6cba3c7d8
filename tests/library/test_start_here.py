"""Topic pages lead with the right article (issue 19, item 4).

Each disease and therapy page opens with a "Start here" article: the editors' choice
while readers can see it and it is filed under the term, else the article most
specifically about the term (its title names the term, by name before alias; then the
fewest other terms of the same kind; then the newest; then by title). The others follow.
"""

from __future__ import annotations

import datetime
import io
import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from library.listing import PAGE_SIZE
from library.models import Article, Disease, Therapy
from search.backends import get_backend
from tests.conftest import make_article, make_disease, make_tag, make_therapy, site_queries

pytestmark = pytest.mark.django_db


def start_here_slug(response) -> str | None:
    match = re.search(
        r'<section class="start-here".*?data-slug="([^"]+)"', response.content.decode(), re.S
    )
    return match.group(1) if match else None


def listed_slugs(response) -> list[str]:
    """The articles in the list below Start here, in order."""
    page = response.content.decode()
    listed = page.split('class="result-list"', 1)[1] if 'class="result-list"' in page else ""
    return re.findall(r'data-slug="([^"]+)"', listed)


@pytest.fixture
def lupus():
    return make_disease("Lupus (systemic lupus erythematosus)", slug="lupus", aliases="SLE")


# --- On the shipped content -------------------------------------------------------------

SHIPPED_START_HERE = {
    "/diseases/lupus/": "Stem Cell Therapy Research in Lupus",
    "/diseases/multiple-sclerosis/": "Stem Cell Research in Multiple Sclerosis",
    "/diseases/systemic-sclerosis/": (
        "Systemic Sclerosis (Scleroderma) and Stem Cell Transplantation"
    ),
    "/diseases/type-1-diabetes/": "Type 1 Diabetes and Stem Cell Research",
    "/therapies/hsct/": (
        "Hematopoietic Stem Cell Transplantation (HSCT) for Autoimmune Disease: What It Involves"
    ),
    "/therapies/mesenchymal-stem-cell-therapy/": "Mesenchymal Stem Cell Therapy Explained",
    "/therapies/umbilical-cord-blood-therapy/": (
        "Umbilical Cord Blood Therapy: Uses, Research and Limits"
    ),
    "/therapies/anti-inflammatory-drugs/": (
        "Anti-Inflammatory Drugs: NSAIDs and Corticosteroids in Autoimmune Disease"
    ),
}


@pytest.mark.parametrize("path", SHIPPED_START_HERE)
def test_shipped_topic_pages_open_with_the_article_about_them(client, indexed_library, path):
    response = client.get(path)

    start = Article.objects.get(slug=start_here_slug(response))
    assert start.title == SHIPPED_START_HERE[path]
    # The others follow, without it.
    others = listed_slugs(response)
    assert others and start.slug not in others
    scope = response.context["scope"]
    filed = Article.objects.published().filter(**{scope.article_relation: scope}).count()
    assert len(others) + 1 == min(filed, PAGE_SIZE)  # the first page, Start here included


def test_on_the_lupus_page_the_lupus_article_leads_where_it_was_listed_last(
    client, indexed_library
):
    response = client.get("/diseases/lupus/")
    page = response.content.decode()

    assert start_here_slug(response) == "stem-cell-therapy-research-in-lupus"
    assert page.index('<h2 id="start-here-heading">Start here</h2>') < page.index(
        'class="result-list"'
    )
    assert "stem-cell-therapy-research-in-lupus" not in listed_slugs(response)


# --- The default rule --------------------------------------------------------------------


def test_a_title_naming_the_term_beats_an_article_filed_under_fewer_terms(client, lupus):
    other = make_disease()
    make_article("Living with autoimmune disease", slug="plain", diseases=[lupus])
    make_article("Lupus and its treatment", slug="named", diseases=[lupus, other])

    assert start_here_slug(client.get("/diseases/lupus/")) == "named"


def test_the_name_before_an_alias_and_whole_words_only(client, page_cache_off):
    ms = make_disease("Multiple sclerosis", slug="ms", aliases="MS")
    make_article("Trial SYSTEMS for new drugs", slug="not-a-word", diseases=[ms])
    make_article("MS fatigue explained", slug="alias", diseases=[ms])
    make_article("Multiple Sclerosis: the basics", slug="name", diseases=[ms])

    assert start_here_slug(client.get("/diseases/ms/")) == "name"
    Article.objects.filter(slug="name").update(status=Article.Status.DRAFT)
    assert start_here_slug(client.get("/diseases/ms/")) == "alias"


def test_then_the_article_filed_under_the_fewest_terms_of_the_same_kind(client, lupus):
    others = [make_disease() for _ in range(3)]
    hsct, msc = make_therapy(), make_therapy()
    make_article("Overview", slug="broad", diseases=[lupus, *others])
    # Therapies are another kind: they do not make an article less about lupus.
    make_article("Research", slug="focused", diseases=[lupus], therapies=[hsct, msc])
    make_article("Two diseases", slug="two", diseases=[lupus, others[0]])

    assert start_here_slug(client.get("/diseases/lupus/")) == "focused"


def test_then_the_newest_then_by_title(client, lupus):
    make_article("B older", slug="older", diseases=[lupus], published_on=datetime.date(2024, 1, 1))
    make_article("Z newer", slug="z", diseases=[lupus], published_on=datetime.date(2025, 1, 1))
    make_article("A newer", slug="a", diseases=[lupus], published_on=datetime.date(2025, 1, 1))

    assert start_here_slug(client.get("/diseases/lupus/")) == "a"


def test_a_therapy_page_uses_the_same_rule(client):
    hsct = make_therapy("Hematopoietic stem cell transplantation", slug="hsct", aliases="HSCT")
    msc = make_therapy()
    make_article("Stem cells in general", slug="general", therapies=[hsct])
    make_article("Recovering from HSCT", slug="alias", therapies=[hsct, msc])

    assert start_here_slug(client.get("/therapies/hsct/")) == "alias"


# --- The editors' choice ------------------------------------------------------------------


def test_the_editors_choice_leads(client, lupus):
    make_article("Lupus explained", slug="default", diseases=[lupus])
    chosen = make_article("Questions about treatment", slug="chosen", diseases=[lupus])
    lupus.start_here = chosen
    lupus.full_clean()
    lupus.save()

    response = client.get("/diseases/lupus/")

    assert start_here_slug(response) == "chosen"
    assert listed_slugs(response) == ["default"]


@pytest.mark.parametrize(
    "change",
    [
        {"status": Article.Status.DRAFT},
        # Scheduled: published, dated after today.
        {"published_on": datetime.date(2099, 1, 1)},
    ],
    ids=["unpublished", "scheduled"],
)
def test_a_chosen_article_readers_cannot_see_is_never_shown(client, lupus, change):
    make_article("Lupus explained", slug="default", diseases=[lupus])
    chosen = make_article("Questions about treatment", slug="chosen", diseases=[lupus])
    lupus.start_here = chosen
    lupus.save()
    Article.objects.filter(pk=chosen.pk).update(**change)

    response = client.get("/diseases/lupus/")

    assert start_here_slug(response) == "default"
    assert "chosen" not in response.content.decode().split('class="listing"')[1]


def test_a_chosen_article_no_longer_filed_under_the_term_gives_way(client, lupus):
    make_article("Lupus explained", slug="default", diseases=[lupus])
    chosen = make_article("Questions about treatment", slug="chosen", diseases=[lupus])
    lupus.start_here = chosen
    lupus.save()
    chosen.diseases.clear()

    assert start_here_slug(client.get("/diseases/lupus/")) == "default"


def test_deleting_the_chosen_article_empties_the_choice(lupus):
    chosen = make_article(diseases=[lupus])
    lupus.start_here = chosen
    lupus.save()
    chosen.delete()

    lupus.refresh_from_db()
    assert lupus.start_here is None


@pytest.mark.parametrize(
    ("article", "message"),
    [
        (
            {"title": "Draft on lupus", "status": Article.Status.DRAFT, "filed": True},
            "“Draft on lupus” is not published, so readers could not see it. Choose a published "
            "article filed under this disease, or leave Start here empty for the default.",
        ),
        (
            {"title": "About MS", "filed": False},
            "“About MS” is not filed under this disease. File it here first (on the article’s "
            "page), or choose an article that is.",
        ),
    ],
    ids=["draft", "filed-elsewhere"],
)
def test_the_model_refuses_what_readers_could_not_see_there_in_plain_words(lupus, article, message):
    filed = article.pop("filed")
    lupus.start_here = make_article(**article, diseases=[lupus] if filed else [make_disease()])

    with pytest.raises(ValidationError) as refused:
        lupus.full_clean()

    assert refused.value.message_dict["start_here"] == [message]


# --- When it shows, and what it costs ---------------------------------------------------------


def test_a_search_a_filter_or_a_later_page_shows_no_start_here(client, lupus):
    tag = make_tag(slug="trials")
    for n in range(25):
        make_article(f"Article {n:02d}", diseases=[lupus], tags=[tag] if n == 0 else [])
    make_article("Lupus explained", slug="lupus-explained", diseases=[lupus])

    assert start_here_slug(client.get("/diseases/lupus/")) == "lupus-explained"
    assert start_here_slug(client.get("/diseases/lupus/?q=article")) is None
    assert start_here_slug(client.get("/diseases/lupus/?tag=trials")) is None
    second = client.get("/diseases/lupus/?page=2")
    assert start_here_slug(second) is None
    # Sorting differently still opens with it.
    assert start_here_slug(client.get("/diseases/lupus/?ordering=title")) == "lupus-explained"


def test_a_tag_page_has_no_start_here(client):
    tag = make_tag(slug="trials")
    make_article("Trials", diseases=[make_disease()], tags=[tag])

    response = client.get("/tags/trials/")

    assert response.status_code == 200
    assert start_here_slug(response) is None


def test_a_topic_with_only_its_start_here_article_says_nothing_is_missing(client, lupus):
    make_article("Lupus explained", slug="only", diseases=[lupus])

    response = client.get("/diseases/lupus/")

    assert start_here_slug(response) == "only"
    assert "Some ideas:" not in response.content.decode()


def test_the_topic_page_runs_a_fixed_number_of_queries(client, lupus, page_cache_off):
    def queries(path: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(path).status_code == 200
        return len(site_queries(captured))

    hsct = make_therapy()
    make_article("Lupus explained", diseases=[lupus], therapies=[hsct])
    few = queries("/diseases/lupus/")
    for n in range(30):
        make_article(f"More {n}", diseases=[lupus, make_disease()], therapies=[hsct])
    assert queries("/diseases/lupus/") == few
    lupus.start_here = Article.objects.get(title="More 7")
    lupus.save()
    assert queries("/diseases/lupus/") == few
    assert queries(f"/therapies/{hsct.slug}/") == few
    if get_backend().exists():
        # PostgreSQL indexes inside the test's transaction: the index answers the list.
        # The term, its slug checked, the page's rows, 3 prefetches, the disease and
        # therapy facet labels (no article has a tag); then Start here: its row and its
        # 3 prefetches.
        assert few == 12 + 1  # and the page cache's generation read
    else:
        # No commit, so no Whoosh index: the database lists (the term, its slug checked,
        # count, page, 3 prefetches, 4 facets), then Start here (its row, 3 prefetches).
        assert few == 15 + 1  # and the page cache's generation read


# --- The admin ------------------------------------------------------------------------------


def test_the_admin_offers_only_published_articles_filed_under_the_term(admin_client, lupus):
    make_article("Filed and published", diseases=[lupus])
    make_article("Filed, a draft", diseases=[lupus], status=Article.Status.DRAFT)
    make_article(
        "Filed, scheduled",
        diseases=[lupus],
        published_on=timezone.localdate() + datetime.timedelta(days=7),
    )
    make_article("Elsewhere", diseases=[make_disease()])

    page = admin_client.get(f"/admin/library/disease/{lupus.pk}/change/").content.decode()
    select = page.split('name="start_here"', 1)[1].split("</select>", 1)[0]

    options = re.findall(r"<option value=\"\d+\">([^<]+)</option>", select)
    assert options == ["Filed and published", "Filed, scheduled"]
    assert "The default: the article most specifically about it" in select


def test_the_admin_saves_a_choice_and_refuses_another_in_plain_words(admin_client, lupus):
    chosen = make_article("Filed and published", diseases=[lupus])
    elsewhere = make_article("Elsewhere", diseases=[make_disease()])
    url = f"/admin/library/disease/{lupus.pk}/change/"
    form = {"name": lupus.name, "slug": lupus.slug, "aliases": "SLE", "description": ""}

    refused = admin_client.post(url, {**form, "start_here": elsewhere.pk})

    assert refused.status_code == 200
    assert "That article is not a published article filed under this disease" in (
        refused.content.decode()
    )
    assert Disease.objects.get(pk=lupus.pk).start_here is None

    saved = admin_client.post(url, {**form, "start_here": chosen.pk})

    assert saved.status_code == 302
    assert Disease.objects.get(pk=lupus.pk).start_here == chosen
    admin_client.post(url, {**form, "start_here": ""})
    assert Disease.objects.get(pk=lupus.pk).start_here is None


def test_a_new_term_offers_no_articles_yet(admin_client):
    page = admin_client.get("/admin/library/therapy/add/").content.decode()
    select = page.split('name="start_here"', 1)[1].split("</select>", 1)[0]
    assert re.findall(r'<option value="\d+"', select) == []
    assert Therapy.objects.count() == 0


# --- The fixture format ------------------------------------------------------------------------


def test_a_fixture_can_choose_start_here_by_article_slug(tmp_path, client):
    records = [
        {
            "model": "library.disease",
            "fields": {"name": "Lupus", "slug": "lupus", "start_here": ["lupus-questions"]},
        },
        {
            "model": "library.article",
            "fields": {
                "title": "Lupus explained",
                "slug": "lupus-explained",
                "summary": "S.",
                "body": "B.",
                "status": "published",
                "published_on": "2025-01-01",
                "diseases": [["lupus"]],
            },
        },
        {
            "model": "library.article",
            "fields": {
                "title": "Questions to ask",
                "slug": "lupus-questions",
                "summary": "S.",
                "body": "B.",
                "status": "published",
                "published_on": "2025-01-01",
                "diseases": [["lupus"]],
            },
        },
    ]
    path = tmp_path / "topic.json"
    path.write_text(json.dumps(records))

    call_command("loaddata", str(path), verbosity=0)

    assert Disease.objects.get(slug="lupus").start_here.slug == "lupus-questions"
    assert start_here_slug(client.get("/diseases/lupus/")) == "lupus-questions"
    # Dumped with natural keys, the choice is the article's slug.
    out = io.StringIO()
    call_command("dumpdata", "library.disease", natural_foreign=True, stdout=out)
    assert json.loads(out.getvalue())[0]["fields"]["start_here"] == ["lupus-questions"]


def test_a_fixture_naming_an_unknown_article_loads_nothing(tmp_path):
    path = tmp_path / "topic.json"
    path.write_text(
        json.dumps(
            [
                {
                    "model": "library.disease",
                    "fields": {"name": "Lupus", "slug": "lupus", "start_here": ["no-such"]},
                }
            ]
        )
    )

    with pytest.raises(CommandError) as refused:
        call_command("loaddata", str(path), verbosity=0)

    assert "field 'start_here': unknown article slug “no-such”" in str(refused.value)
    assert not Disease.objects.exists()
