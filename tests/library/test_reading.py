"""Reading an article: contents list, reading time, Print button and "Find research" links."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest

from library.rendering import render_body
from tests.conftest import make_article, make_disease, make_therapy

pytestmark = pytest.mark.django_db

THREE_HEADINGS = "## What it is\n\nText.\n\n## Who it helps\n\nText.\n\n### In trials\n\nText."


def contents(html: str) -> list[tuple[str, str]]:
    nav = re.search(r'<nav class="toc".*?</nav>', html, re.S)
    return re.findall(r'<a href="#([^"]+)">([^<]+)</a>', nav.group(0)) if nav else []


def test_an_article_with_three_headings_lists_them_on_this_page(client):
    article = make_article(body=THREE_HEADINGS)

    html = client.get(article.get_absolute_url()).content.decode()

    assert "On this page" in html
    entries = contents(html)
    assert entries == [
        ("section-what-it-is", "What it is"),
        ("section-who-it-helps", "Who it helps"),
        ("section-in-trials", "In trials"),
    ]
    for anchor, _ in entries:  # every entry leads to a heading on the page
        assert re.search(rf'<h[23] id="{anchor}">', html)


def test_two_headings_are_not_worth_a_contents_list(client):
    article = make_article(body="## One\n\nText.\n\n## Two\n\nText.")
    html = client.get(article.get_absolute_url()).content.decode()
    assert "On this page" not in html
    assert '<h2 id="section-one">One</h2>' in html


def test_heading_ids_cannot_take_the_pages_own_ids():
    rendered = render_body("## Main {#content}\n\n## Skip <b>me</b>\n\n## Main\n\n# Big")

    assert 'id="content"' not in rendered.html
    assert '<h2 id="section-content">Main</h2>' in rendered.html
    assert [(h.id, h.text) for h in rendered.headings] == [
        ("section-content", "Main"),
        ("section-skip-me", "Skip me"),
        ("section-main", "Main"),
        ("section-big", "Big"),
    ]


def test_each_body_gets_its_own_heading_ids_and_footnotes_whatever_was_rendered_before():
    body = "## Is it safe?\n\nSee the trial.[^1]\n\n[^1]: A small trial.\n\n*[MS]: multiple sclerosis\n"
    first = render_body(body)
    render_body("## Is it safe?\n\n## Is it safe?\n\nMS and more.[^1]\n\n[^1]: Another note.")
    again = render_body(body)
    assert again.html == first.html
    assert [h.id for h in again.headings] == ["section-is-it-safe"]
    assert "Another note" not in again.html


def test_hostile_heading_text_is_escaped_in_the_contents_list(client):
    body = (
        "## <img src=x onerror=alert(1)>Hello\n\n## A & B\n\n## <script>alert(2)</script>\n\n## End"
    )
    html = client.get(make_article(body=body).get_absolute_url()).content.decode()
    assert "onerror" not in html
    assert "alert(2)" not in html  # the sanitiser drops the script, and so do the contents
    assert [text for _, text in contents(html)] == ["Hello", "A &amp; B", "End"]


@pytest.mark.parametrize(("words", "minutes"), [(10, 1), (200, 1), (201, 2), (1000, 5)])
def test_the_reading_time_is_shown_in_minutes(client, words, minutes):
    article = make_article(body=" ".join(["word"] * words))
    html = client.get(article.get_absolute_url()).content.decode()
    unit = "minute" if minutes == 1 else "minutes"
    assert f'<span class="reading-time">About {minutes} {unit} to read</span>' in html


def test_the_print_button_is_hidden_until_the_script_shows_it(client):
    html = client.get(make_article().get_absolute_url()).content.decode()
    assert re.search(r'<button type="button" class="print-button" data-print hidden>', html)
    assert '<script src="/static/js/article.js" defer></script>' in html
    assert "onclick" not in html


def test_find_research_offers_pubmed_and_trials_searches_for_each_pair(client):
    lupus = make_disease("Lupus (systemic lupus erythematosus)", slug="lupus")
    ms = make_disease("Multiple sclerosis", slug="ms")
    hsct = make_therapy("Hematopoietic stem cell transplantation", slug="hsct")
    article = make_article(diseases=[lupus, ms], therapies=[hsct])

    html = client.get(article.get_absolute_url()).content.decode()

    section = re.search(r'<aside class="find-research".*?</aside>', html, re.S).group(0)
    assert "links to other websites" in section
    links = [unescape(href) for href in re.findall(r'class="external" href="([^"]+)"', section)]
    assert len(links) == 4
    pubmed = [parse_qs(urlsplit(link).query) for link in links if "pubmed" in link]
    trials = [parse_qs(urlsplit(link).query) for link in links if "clinicaltrials" in link]
    assert pubmed == [
        {"term": ["Lupus AND Hematopoietic stem cell transplantation"]},
        {"term": ["Multiple sclerosis AND Hematopoietic stem cell transplantation"]},
    ]
    assert trials == [
        {"cond": ["Lupus"], "intr": ["Hematopoietic stem cell transplantation"]},
        {"cond": ["Multiple sclerosis"], "intr": ["Hematopoietic stem cell transplantation"]},
    ]
    assert all(link.startswith("https://") for link in links)
    assert "https://pubmed.ncbi.nlm.nih.gov/?term=Lupus%20AND%20Hematopoietic" in html
    assert "(external site)" in section


def test_terms_are_url_encoded(client):
    crohns = make_disease("Crohn's disease & colitis", slug="crohns")
    article = make_article(diseases=[crohns], therapies=[make_therapy("MSC/stromal", slug="msc")])
    html = client.get(article.get_absolute_url()).content.decode()
    assert "term=Crohn%27s%20disease%20%26%20colitis%20AND%20MSC%2Fstromal" in html
    assert "cond=Crohn%27s%20disease%20%26%20colitis&amp;intr=MSC%2Fstromal" in html


def test_an_article_with_diseases_only_gets_one_search_per_disease(client):
    article = make_article(diseases=[make_disease("Psoriasis", slug="psoriasis")])
    html = client.get(article.get_absolute_url()).content.decode()
    assert "https://pubmed.ncbi.nlm.nih.gov/?term=Psoriasis" in html
    assert "https://clinicaltrials.gov/search?cond=Psoriasis" in html


def test_an_article_about_nothing_in_particular_has_no_research_links(client):
    html = client.get(make_article().get_absolute_url()).content.decode()
    assert "Find research" not in html


def test_many_pairs_fold_after_six(client):
    diseases = [make_disease() for _ in range(4)]
    therapies = [make_therapy() for _ in range(2)]
    html = client.get(make_article(diseases=diseases, therapies=therapies).get_absolute_url())
    html = html.content.decode()
    visible, folded = html.split('<details class="research-more">', 1)
    assert visible.count("<li data-topic=") == 6
    assert "Show all 8 searches" in folded
    assert folded.split("</details>")[0].count("<li data-topic=") == 2


def test_the_article_page_still_takes_a_fixed_number_of_queries(
    client, whoosh_index, django_assert_max_num_queries
):
    # Nothing commits, so no Whoosh index and no related articles: the page's own cost.
    diseases = [make_disease() for _ in range(5)]
    therapies = [make_therapy() for _ in range(3)]
    article = make_article(body=THREE_HEADINGS, diseases=diseases, therapies=therapies)
    with django_assert_max_num_queries(6):
        client.get(article.get_absolute_url())
