"""Plain language: every article written for the library reads at US grade 8 or below and
opens with 3 to 5 Key points written for it.

NIH and MedlinePlus aim for grade 6 to 8. The grade is textstat's Flesch-Kincaid grade of the
words a reader sees (`markdown_to_text`: markup and link targets dropped, each heading and
list item a sentence of its own). textstat is pinned at 0.7.3 because that release counts
syllables with pyphen's shipped dictionaries; later releases download NLTK data at run time,
which CI, without internet, must not do. The article reproduced from its source keeps its
words, so it is measured only to show that the measure tells hard text from plain.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import sys
from pathlib import Path

import pytest
import textstat
from django.conf import settings

from library.rendering import markdown_to_text

ARTICLES = Path(settings.BASE_DIR) / "fixtures" / "articles.json"
MAX_GRADE = 8.0


def shipped_articles() -> list[dict]:
    records = json.loads(ARTICLES.read_text(encoding="utf-8"))
    return [r["fields"] for r in records if r["model"] == "library.article"]


OWN = [fields for fields in shipped_articles() if not fields.get("source_name")]
REPRODUCED = [fields for fields in shipped_articles() if fields.get("source_name")]


def reading_grade(markdown: str) -> float:
    """US school grade (Flesch-Kincaid) of a Markdown text as readers see it."""
    return textstat.flesch_kincaid_grade(markdown_to_text(markdown))


def by_slug(fields: dict) -> str:
    return fields["slug"]


@pytest.mark.parametrize("article", OWN, ids=by_slug)
def test_every_own_article_reads_at_grade_8_or_below(article):
    grade = reading_grade(article["body"])

    assert grade <= MAX_GRADE, f"{article['slug']} reads at grade {grade:.1f}"


def test_the_grade_tells_hard_text_from_plain():
    """The measure can fail: the reproduced source and a dense sentence score far above 8."""
    assert REPRODUCED, "the library carries one article reproduced from its source"
    for article in REPRODUCED:
        assert reading_grade(article["body"]) > MAX_GRADE + 2, article["slug"]
    dense = (
        "Autologous haematopoietic stem cell transplantation necessitates myeloablative or "
        "lymphoablative conditioning chemotherapy, subsequently followed by reinfusion of "
        "cryopreserved mobilised progenitor cells, and considerable transplant-related toxicity."
    )
    plain = "Your own stem cells are stored. Strong drugs then clear out the immune system."
    assert reading_grade(dense) > 14 > 6 > reading_grade(plain)


def test_headings_and_list_items_count_as_sentences_of_their_own():
    listed = (
        "## Standard care for type 1 diabetes\n\nTreatment may include:\n\n"
        "- insulin given by injections or a pump\n- checking glucose with a monitor\n"
        "- learning to match insulin to food"
    )
    run_on = re.sub(r"[#:\n-]+", " ", listed)

    assert textstat.sentence_count(markdown_to_text(listed)) > textstat.sentence_count(run_on)


def test_the_readability_library_is_the_release_that_needs_no_downloads():
    assert importlib.metadata.version("textstat") == "0.7.3"
    textstat.flesch_kincaid_grade("A short sentence to count.")
    assert "nltk" not in sys.modules


@pytest.mark.parametrize("article", OWN, ids=by_slug)
def test_every_own_article_has_three_to_five_key_points_written_as_plain_sentences(article):
    points = article.get("key_points", "").split("\n")

    assert 3 <= len(points) <= 5, f"{article['slug']}: {len(points)} key points"
    for point in points:
        assert point == point.strip() and point, article["slug"]
        assert not re.match(r"[-*•#>]|\d+[.)]\s", point), f"no bullets or numbering: {point}"
        assert not re.search(r"\*\*|__|\[|\]\(|`", point), f"no Markdown: {point}"
        assert point[0].isupper() and point.endswith("."), f"a whole sentence: {point}"
        assert len(point.split()) >= 6, f"a sentence, not a label: {point}"
    assert len(set(points)) == len(points), article["slug"]


def test_key_points_are_written_for_each_article_not_shared():
    seen: dict[str, str] = {}
    for article in OWN:
        for point in filter(None, article.get("key_points", "").split("\n")):
            assert seen.setdefault(point, article["slug"]) == article["slug"], point
