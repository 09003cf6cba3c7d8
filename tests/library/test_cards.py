"""An article's card in lists and results: the `article_card` tag writes, byte for byte,
what the card's former template wrote, for every variant a reader can meet."""

from __future__ import annotations

import datetime

import pytest
from django.template import Context, Template

from library.models import Article
from library.templatetags.library_tags import article_card
from search.backends.base import AnswerSection
from tests.conftest import make_article, make_disease, make_therapy

pytestmark = pytest.mark.django_db

# library/templates/library/includes/article_card.html as it was before the tag.
FORMER_TEMPLATE = """<article class="card" data-slug="{{ article.slug }}">
  <h3 class="card-title"><a {% if first %}id="first-result" {% endif %}href="{{ article.get_absolute_url }}">{{ article.title }}</a></h3>
  <p class="meta"><time datetime="{{ article.published_on|date:'Y-m-d' }}">{{ article.published_on|date:"j F Y" }}</time>{% if not article.is_published %} · <strong class="badge">Draft</strong>{% endif %}{% if pick %} · <strong class="badge badge-pick" data-pick>Editor's pick</strong>{% endif %}</p>
  <p class="snippet">{% if highlight %}{{ highlight|safe }}{% else %}{{ article.summary }}{% endif %}</p>
  {% if answer_section %}<p class="answer-section" data-answer-section>Answer in: <a href="{{ article.get_absolute_url }}#{{ answer_section.anchor }}">{{ answer_section.heading }}</a>{% if answer_section.sentence %}: {{ answer_section.sentence|safe }}{% endif %}</p>{% endif %}
  {% if article.topic_diseases or article.topic_therapies %}
  <ul class="chips" aria-label="Topics">
    {% for disease in article.topic_diseases %}<li><a class="chip chip-disease" href="{{ disease.get_absolute_url }}">{{ disease.name }}</a></li>{% endfor %}
    {% for therapy in article.topic_therapies %}<li><a class="chip chip-therapy" href="{{ therapy.get_absolute_url }}">{{ therapy.name }}</a></li>{% endfor %}
  </ul>
  {% endif %}
</article>
"""

SECTION = AnswerSection("Is it <safe>?", "section-is-it-safe", "It is <mark>studied</mark>.")


@pytest.fixture
def articles() -> list[Article]:
    ms = make_disease("Multiple sclerosis & <MS>", slug="multiple-sclerosis")
    lupus = make_disease("Lupus", slug="lupus")
    hsct = make_therapy("HSCT", slug="hsct")
    make_article(
        'HSCT "in" <MS> & more',
        slug="hsct-ms",
        summary="Summary with <b>markup</b> & an ampersand.",
        published_on=datetime.date(2025, 3, 9),
        diseases=[ms, lupus],
        therapies=[hsct],
    )
    make_article("Therapy only", slug="therapy-only", therapies=[hsct])
    make_article("No topics", slug="no-topics")
    make_article("A draft", slug="a-draft", status=Article.Status.DRAFT, diseases=[lupus])
    return list(Article.objects.for_listing().order_by("slug"))


VARIANTS = [
    {},
    {"highlight": "Found <mark>HSCT</mark> here"},
    {"first": True},
    {"pick": True},
    {"answer_section": SECTION},
    {"answer_section": AnswerSection("Risks", "section-risks", "")},
    {"highlight": "x <mark>y</mark>", "first": True, "pick": True, "answer_section": SECTION},
]


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_card_is_what_its_template_wrote(articles, variant):
    template = Template(FORMER_TEMPLATE)
    for article in articles:
        expected = template.render(Context({"article": article, **variant}))
        highlight = variant.get("highlight", "")
        options = {k: v for k, v in variant.items() if k != "highlight"}
        assert article_card(article, highlight, **options) == expected


def test_a_card_escapes_the_title_summary_and_topics_and_keeps_the_highlight(articles):
    card = article_card(articles[1], "a <mark>b</mark>")  # hsct-ms

    assert "HSCT &quot;in&quot; &lt;MS&gt; &amp; more</a>" in card
    assert "Multiple sclerosis &amp; &lt;MS&gt;</a>" in card
    assert '<p class="snippet">a <mark>b</mark></p>' in card
    assert "9 March 2025" in card
