"""What search engines, link previews and browsers read: sitemap, robots.txt, canonical
links, Open Graph, JSON-LD and OpenSearch."""

from __future__ import annotations

import datetime
import json
import re
import xml.etree.ElementTree as ET
from html import unescape
from urllib.parse import urlsplit

import pytest

from library.models import Article
from library.seo import article_structured_data
from tests.conftest import make_article, make_disease, make_tag, make_therapy

pytestmark = pytest.mark.django_db

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def sitemap_urls(client) -> dict[str, str | None]:
    """Every URL in the sitemap index's sitemaps, with its lastmod."""
    index = ET.fromstring(client.get("/sitemap.xml").content)
    assert index.tag == f"{SITEMAP}sitemapindex"
    urls = {}
    for loc in index.iter(f"{SITEMAP}loc"):
        response = client.get(urlsplit(loc.text).path)
        assert response.status_code == 200
        for url in ET.fromstring(response.content).iter(f"{SITEMAP}url"):
            lastmod = url.find(f"{SITEMAP}lastmod")
            urls[urlsplit(url.find(f"{SITEMAP}loc").text).path] = (
                lastmod.text if lastmod is not None else None
            )
    return urls


def canonicals(html: str) -> list[str]:
    return [unescape(href) for href in re.findall(r'<link rel="canonical" href="([^"]+)">', html)]


def json_ld(html: str) -> dict:
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert len(blocks) == 1
    return json.loads(blocks[0])


@pytest.fixture
def taxonomy():
    return {
        "ms": make_disease("Multiple sclerosis", slug="multiple-sclerosis"),
        "lupus": make_disease("Lupus (systemic lupus erythematosus)", slug="lupus"),
        "hsct": make_therapy("Hematopoietic stem cell transplantation", slug="hsct"),
        "trials": make_tag("Clinical trials", slug="clinical-trials"),
    }


# --- sitemap.xml and robots.txt ----------------------------------------------------------


def test_the_sitemap_lists_every_published_article_and_no_draft(client, indexed_library):
    make_article("Unfinished", slug="unfinished-draft", status=Article.Status.DRAFT)

    urls = sitemap_urls(client)

    published = {a.get_absolute_url() for a in Article.objects.published()}
    listed_articles = {
        path for path in urls if path.startswith("/articles/") and path != "/articles/"
    }
    assert listed_articles == published
    assert "/articles/unfinished-draft/" not in urls
    article = Article.objects.published().first()
    assert urls[article.get_absolute_url()] == article.updated_at.date().isoformat()


def test_the_sitemap_lists_every_taxonomy_page_and_the_index_pages(client, taxonomy):
    article = make_article(diseases=[taxonomy["ms"]], tags=[taxonomy["trials"]])
    make_article(diseases=[taxonomy["lupus"]], status=Article.Status.DRAFT)

    urls = sitemap_urls(client)

    for path in ["/", "/articles/", "/diseases/", "/therapies/", "/tags/", "/explore/"]:
        assert path in urls
    for path in [
        "/diseases/multiple-sclerosis/",
        "/diseases/lupus/",
        "/therapies/hsct/",
        "/tags/clinical-trials/",
    ]:
        assert path in urls
    day = article.updated_at.date().isoformat()
    assert urls["/diseases/multiple-sclerosis/"] == day
    # Only a draft carries lupus, and no article HSCT: nothing to date them by.
    assert urls["/diseases/lupus/"] is None
    assert urls["/therapies/hsct/"] is None


def test_the_sitemap_takes_a_fixed_number_of_queries(
    client, taxonomy, django_assert_num_queries, page_cache_off
):
    for _ in range(15):
        make_article(diseases=[taxonomy["ms"]], tags=[make_tag()])
    # The generation, the paginator's COUNT, then the rows: the same for 5 articles or 50,000.
    with django_assert_num_queries(3):
        client.get("/sitemap-articles.xml")
    with django_assert_num_queries(3):
        client.get("/sitemap-diseases.xml")
    with django_assert_num_queries(10):  # a MAX per section, a COUNT per database section
        client.get("/sitemap.xml")


def test_robots_txt_points_to_the_sitemap_and_keeps_admin_and_api_out(client):
    response = client.get("/robots.txt")

    assert response["Content-Type"] == "text/plain; charset=utf-8"
    lines = response.content.decode().splitlines()
    assert lines[0] == "User-agent: *"
    assert "Disallow: /admin/" in lines
    assert "Disallow: /api/" in lines
    assert "Sitemap: http://testserver/sitemap.xml" in lines


# --- Canonical URLs ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/articles/",
        "/articles/?q=lupus",
        "/diseases/",
        "/diseases/lupus/",
        "/therapies/",
        "/therapies/hsct/",
        "/tags/",
        "/tags/clinical-trials/",
        "/explore/",
        "/articles/stem-cell-therapy-research-in-lupus/",
    ],
)
def test_every_page_has_exactly_one_canonical_link(client, indexed_library, path):
    html = client.get(path).content.decode()
    assert len(canonicals(html)) == 1
    assert canonicals(html)[0].startswith("http://testserver/")


def test_an_article_has_one_canonical_url_whatever_the_query_string(client, taxonomy):
    article = make_article(slug="one-article", diseases=[taxonomy["ms"]])
    found = {
        canonicals(client.get(f"{article.get_absolute_url()}{query}").content.decode())[0]
        for query in ["", "?utm_source=newsletter", "?q=lupus&page=2", "?fbclid=abc#x"]
    }
    assert found == {"http://testserver/articles/one-article/"}


@pytest.mark.parametrize(
    ("path", "canonical"),
    [
        ("/articles/", "/articles/"),
        ("/articles/?ordering=title&utm_source=x", "/articles/"),
        ("/articles/?therapy=hsct&disease=lupus", "/articles/?disease=lupus&therapy=hsct"),
        ("/articles/?disease=lupus&therapy=hsct&ordering=-published_on", "/articles/?disease=lupus&therapy=hsct"),
        ("/articles/?q=++stem+++cell+&page=1", "/articles/?q=stem+cell"),
        ("/articles/?disease=no-such-disease", "/articles/"),
        ("/diseases/lupus/", "/diseases/lupus/"),
        ("/diseases/lupus/?therapy=hsct&ordering=title", "/diseases/lupus/?therapy=hsct"),
        ("/tags/clinical-trials/?year=2025", "/tags/clinical-trials/?year=2025"),
    ],
)  # fmt: skip
def test_a_list_pages_canonical_keeps_what_chooses_the_articles(client, taxonomy, path, canonical):
    make_article(
        diseases=[taxonomy["lupus"]], therapies=[taxonomy["hsct"]], tags=[taxonomy["trials"]]
    )

    html = client.get(path).content.decode()

    assert canonicals(html) == [f"http://testserver{canonical}"]


def test_a_later_page_of_a_list_is_its_own_canonical(client, taxonomy):
    for day in range(1, 26):
        make_article(diseases=[taxonomy["ms"]], published_on=datetime.date(2025, 1, day))
    html = client.get("/diseases/multiple-sclerosis/?page=2&ordering=title").content.decode()
    assert canonicals(html) == ["http://testserver/diseases/multiple-sclerosis/?page=2"]


def test_search_results_are_not_indexed_but_lists_and_articles_are(client, indexed_library):
    noindex = '<meta name="robots" content="noindex, follow">'
    assert noindex in client.get("/articles/?q=lupus").content.decode()
    assert noindex not in client.get("/articles/?disease=lupus").content.decode()
    article_page = client.get("/articles/stem-cell-therapy-research-in-lupus/").content.decode()
    assert 'name="robots"' not in article_page


def test_a_draft_preview_asks_not_to_be_indexed(client, admin_user):
    draft = make_article(slug="draft", status=Article.Status.DRAFT)
    client.force_login(admin_user)
    html = client.get(draft.get_absolute_url()).content.decode()
    assert '<meta name="robots" content="noindex, nofollow">' in html


def test_error_pages_have_no_canonical(client):
    assert canonicals(client.get("/articles/no-such-article/").content.decode()) == []


# --- Sharing: Open Graph, Twitter card, JSON-LD ------------------------------------------


def test_an_article_carries_open_graph_and_twitter_card_metadata(client, taxonomy):
    article = make_article(
        "HSCT & MS: what we know",
        slug="hsct-ms",
        summary="A summary with “quotes” and <angle> brackets.",
        published_on=datetime.date(2025, 3, 4),
        diseases=[taxonomy["ms"]],
    )
    html = client.get(article.get_absolute_url()).content.decode()

    def meta(attribute: str, name: str) -> list[str]:
        return [
            unescape(v)
            for v in re.findall(rf'<meta {attribute}="{re.escape(name)}" content="([^"]*)">', html)
        ]

    assert meta("property", "og:type") == ["article"]
    assert meta("property", "og:title") == ["HSCT & MS: what we know"]
    assert meta("property", "og:description") == [article.summary]
    assert meta("property", "og:url") == ["http://testserver/articles/hsct-ms/"]
    assert meta("property", "article:published_time") == ["2025-03-04"]
    assert meta("property", "article:tag") == ["Multiple sclerosis"]
    assert meta("name", "twitter:card") == ["summary"]
    assert meta("name", "twitter:title") == ["HSCT & MS: what we know"]
    assert "<angle>" not in html


def test_json_ld_is_a_medical_web_page_about_the_articles_diseases_and_therapies(client, taxonomy):
    article = make_article(
        "Stem cells in lupus",
        slug="lupus-stem-cells",
        summary="What is known.",
        published_on=datetime.date(2025, 1, 21),
        diseases=[taxonomy["lupus"], taxonomy["ms"]],
        therapies=[taxonomy["hsct"]],
        source_name="Lupus Foundation",
        source_url="https://www.lupus.org/",
    )

    data = json_ld(client.get(article.get_absolute_url()).content.decode())

    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "MedicalWebPage"
    assert data["headline"] == "Stem cells in lupus"
    assert data["description"] == "What is known."
    assert data["datePublished"] == "2025-01-21"
    assert data["dateModified"] == article.updated_at.date().isoformat()
    assert data["url"] == "http://testserver/articles/lupus-stem-cells/"
    conditions = [a["name"] for a in data["about"] if a["@type"] == "MedicalCondition"]
    assert conditions == ["Lupus (systemic lupus erythematosus)", "Multiple sclerosis"]
    therapies = [a["name"] for a in data["about"] if a["@type"] == "MedicalTherapy"]
    assert therapies == ["Hematopoietic stem cell transplantation"]
    assert data["isBasedOn"] == {
        "@type": "CreativeWork",
        "name": "Lupus Foundation",
        "url": "https://www.lupus.org/",
    }


def test_json_ld_names_the_last_review_once_articles_record_it(rf):
    article = make_article(published_on=datetime.date(2025, 1, 2))
    data = article_structured_data(article, rf.get("/"))
    assert "lastReviewed" not in data

    article.last_reviewed_on = datetime.date(2025, 6, 30)  # the field of issue 10

    assert article_structured_data(article, rf.get("/"))["lastReviewed"] == "2025-06-30"


def test_json_ld_cannot_be_broken_out_of(client):
    article = make_article(
        "</script><script>alert(1)</script>", slug="hostile", summary="a & b < c"
    )

    html = client.get(article.get_absolute_url()).content.decode()

    assert "<script>alert(1)" not in html
    data = json_ld(html)
    assert data["headline"] == "</script><script>alert(1)</script>"
    assert data["description"] == "a & b < c"
    assert "isBasedOn" not in data  # no source


# --- OpenSearch ---------------------------------------------------------------------------


def test_every_page_links_the_opensearch_description_which_searches_the_list(client):
    article = make_article()
    for path in ["/", "/articles/", "/explore/", article.get_absolute_url()]:
        html = client.get(path).content.decode()
        assert (
            '<link rel="search" type="application/opensearchdescription+xml" '
            'title="stemsite" href="/opensearch.xml">'
        ) in html

    response = client.get("/opensearch.xml")

    assert response["Content-Type"].startswith("application/opensearchdescription+xml")
    root = ET.fromstring(response.content)
    ns = "{http://a9.com/-/spec/opensearch/1.1/}"
    assert root.find(f"{ns}ShortName").text == "stemsite"
    templates = {url.get("type"): url.get("template") for url in root.findall(f"{ns}Url")}
    assert templates["text/html"] == "http://testserver/articles/?q={searchTerms}"
    assert templates["application/atom+xml"] == "http://testserver/feeds/articles/?q={searchTerms}"
