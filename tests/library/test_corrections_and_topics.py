"""Issue 20's content fixes, as a reader would check them on the shipped library.

Each correction's sentence is present, the wrong one is gone, and its source is listed
under "Further reading"; the first article's editor's note gives its claims context;
promotional words are never topic chips, and their old tag URLs lead to a real topic;
the taxonomy names readers type (prednisone, RRMS, cyclosporine) sit on the right term.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from library.models import Article, Disease, Tag, TagRedirect, Therapy

pytestmark = pytest.mark.django_db

FIXTURES = Path(settings.BASE_DIR) / "fixtures"
FIRST_ARTICLE = "stem-cell-therapy-for-autoimmune-diseases"
TRIALS = "how-to-find-and-judge-a-clinical-trial"
STEROIDS = "anti-inflammatory-drugs-nsaids-and-corticosteroids"

# The first article's own keywords that sell rather than describe: never a topic chip.
PROMOTIONAL = {
    "stem cell hope",
    "medical breakthroughs",
    "alternative healing",
    "inflammation relief",
    "stem cells for healing",
    "future medicine",
    "next gen medicine",
    "health innovation",
    "biotech health",
    "immune health",
    "autoimmune awareness",
    "nestfact",
}


def normalised(text: str) -> str:
    return re.sub(r"\W+", " ", text.replace("’", "'")).strip().casefold()


def reading_urls(article: Article) -> list[str]:
    return [link["url"] for link in article.further_reading]


# Corrections


def test_the_trial_article_says_what_the_one_completed_ms_trial_compared(shipped_content):
    article = Article.objects.get(slug=TRIALS)

    assert "have compared it with the most effective medicines" not in article.body
    assert "It compared HSCT with standard disease-modifying drugs." in article.body
    assert "RAM-MS, BEAT-MS and STAR-MS, are still running" in article.body
    assert "https://jamanetwork.com/journals/jama/fullarticle/2720728" in reading_urls(article)
    assert article.update_note.startswith("Corrected:")


def test_the_steroid_article_names_the_emergency_card_and_sick_day_rules(shipped_content):
    article = Article.objects.get(slug=STEROIDS)

    assert "you need a steroid emergency card" in article.body
    assert 'You also need "sick day rules".' in article.body
    assert "Do not stop your steroids when you are unwell." in article.body
    assert "**When to get urgent help:**" in article.body
    assert "https://www.endocrinology.org/adrenal-crisis/" in reading_urls(article)
    assert "steroid emergency card" in article.update_note


def test_corrected_articles_cite_specific_pages_not_home_pages(shipped_content):
    for slug in (TRIALS, STEROIDS):
        specific = [
            url for url in reading_urls(Article.objects.get(slug=slug)) if url.count("/") > 3
        ]
        assert len(specific) >= 2, slug


# The first article's editor's note


def test_the_editors_note_gives_the_first_articles_claims_context(client, shipped_content):
    article = Article.objects.get(slug=FIRST_ARTICLE)
    note = article.editor_note

    assert "Disease-modifying drugs for rheumatoid arthritis and multiple sclerosis" in note
    assert "Do not stop or change a prescribed medicine" in note
    assert "HSCT aims to stop the immune attack. It does not repair damage" in note
    assert "an idea still being tested in research, not an established effect" in note
    assert 'The article gives no source for "clinical remission' in note
    assert "small risk of death" in note
    assert "not affiliated with NestFact" in note
    assert "permission" not in note.lower(), "we hold no record of permission: claim none"
    assert (
        article.source_url
        == "https://www.nestfact.com/2025/05/stem-cell-therapy-for-autoimmune.html"
    )
    for slug in re.findall(r"\(/articles/([^/]+)/\)", note):
        assert client.get(f"/articles/{slug}/").status_code == 200, slug


# Topic chips are topics


def test_no_article_carries_a_promotional_tag(client, shipped_content):
    assert not {normalised(tag.name) for tag in Tag.objects.all()} & PROMOTIONAL
    page = client.get(f"/articles/{FIRST_ARTICLE}/").content.decode()
    chips = {normalised(name) for name in re.findall(r'href="/tags/[^/]+/"[^>]*>([^<]+)<', page)}
    assert chips and not chips & PROMOTIONAL


def test_the_first_articles_promotional_keywords_are_kept_as_its_source_keywords(
    shipped_content,
):
    article = Article.objects.get(slug=FIRST_ARTICLE)
    keywords = {normalised(k) for k in article.source_keywords.split(",")}
    assert keywords >= PROMOTIONAL


def test_every_removed_tags_old_url_leads_to_a_real_topic(client, shipped_content, page_cache_off):
    redirects = {
        r["fields"]["old_slug"]: r["fields"]
        for r in json.loads((FIXTURES / "taxonomy.json").read_text(encoding="utf-8"))
        if r["model"] == "library.tagredirect"
    }
    assert set(redirects) >= {"stem-cell-hope", "medical-breakthroughs", "alternative-healing"}
    assert set(redirects) >= {"inflammation-relief", "nestfact", "next-gen-medicine"}
    for old_slug in redirects:
        response = client.get(f"/tags/{old_slug}/")
        assert response.status_code == 301, old_slug
        target = client.get(response["Location"])
        assert target.status_code == 200, (old_slug, response["Location"])
        assert target.context["listing"].total >= 1, old_slug
    assert client.get("/tags/inflammation-relief/")["Location"] == (
        "/therapies/anti-inflammatory-drugs/"
    )
    assert client.get("/tags/stem-cell-hope/")["Location"] == "/tags/stem-cell-therapy/"


def test_loading_the_redirects_twice_keeps_one_of_each(shipped_content):
    before = TagRedirect.objects.count()
    call_command("loaddata", "taxonomy", verbosity=0)
    assert TagRedirect.objects.count() == before


def test_a_redirect_to_an_unknown_topic_is_refused_and_nothing_is_loaded(shipped_content, tmp_path):
    path = tmp_path / "redirects.json"
    path.write_text(
        json.dumps(
            [
                {"model": "library.tag", "fields": {"name": "Brand new", "slug": "brand-new"}},
                {
                    "model": "library.tagredirect",
                    "fields": {"old_slug": "old", "target_kind": "tag", "target_slug": "nowhere"},
                },
                {
                    "model": "library.tagredirect",
                    "fields": {"old_slug": "older", "target_kind": "topic", "target_slug": "x"},
                },
            ]
        ),
        encoding="utf-8",
    )
    with pytest.raises(CommandError) as error:
        call_command("loaddata", str(path), verbosity=0)
    message = str(error.value)
    assert "record 2 (slug “old”): field 'target_slug': unknown tag slug “nowhere”" in message
    assert "record 3 (slug “older”): field 'target_kind'" in message
    assert not Tag.objects.filter(slug="brand-new").exists()
    assert not TagRedirect.objects.filter(old_slug__in=["old", "older"]).exists()


# Taxonomy names readers type


@pytest.mark.parametrize(
    ("model", "slug", "aliases"),
    [
        (Therapy, "corticosteroids", {"prednisone", "prednisolone"}),
        (Disease, "multiple-sclerosis", {"RRMS", "relapsing-remitting MS"}),
        (Therapy, "immunosuppressants", {"cyclosporine", "ciclosporin"}),
    ],
)
def test_new_aliases_sit_on_the_right_term(shipped_content, model, slug, aliases):
    assert aliases <= set(model.objects.get(slug=slug).alias_list)
