"""The shipped fixtures: what a fresh site contains after `loaddata taxonomy articles`.

These tests read the files in `fixtures/` through the public fixture format (natural keys,
no primary keys), so they also guard that format for people loading their own articles.
"""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from library.models import Article, Disease, Tag, Therapy, split_aliases
from library.rendering import render_markdown
from search.documents import build_document

pytestmark = pytest.mark.django_db

FIXTURES = Path(settings.BASE_DIR) / "fixtures"
EXAMPLE = FIXTURES / "examples" / "example-articles.json"
ORIGINAL = Path(__file__).parent / "data" / "stem-cell-therapy-for-autoimmune-diseases.txt"

DISEASE_SLUGS = {
    "rheumatoid-arthritis",
    "lupus",
    "multiple-sclerosis",
    "psoriasis",
    "type-1-diabetes",
    "crohns-disease",
    "guillain-barre-syndrome",
    "systemic-sclerosis",
}
THERAPY_SLUGS = {
    "hsct",
    "mesenchymal-stem-cell-therapy",
    "umbilical-cord-blood-therapy",
    "immunosuppressants",
    "anti-inflammatory-drugs",
    "corticosteroids",
    "car-t-cell-therapy",
}
FIRST_ARTICLE = "stem-cell-therapy-for-autoimmune-diseases"

# Names that patients and clinicians actually type; searching for one finds the entry.
REQUIRED_ALIASES = {
    Disease: {
        "multiple-sclerosis": ["MS", "disseminated sclerosis"],
        "lupus": ["lupus", "SLE", "systemic lupus erythematosus"],
        "rheumatoid-arthritis": ["RA"],
        "systemic-sclerosis": ["scleroderma", "SSc", "systemic scleroderma", "CREST syndrome"],
        "type-1-diabetes": [
            "T1D",
            "type 1 diabetes mellitus",
            "juvenile diabetes",
            "insulin-dependent diabetes",
            "IDDM",
            "type I diabetes",
        ],
        "crohns-disease": ["Crohn disease", "regional enteritis"],
        "guillain-barre-syndrome": ["GBS", "Guillain-Barre syndrome"],
        "psoriasis": ["plaque psoriasis", "psoriatic disease"],
    },
    Therapy: {
        "hsct": [
            "HSCT",
            "aHSCT",
            "autologous HSCT",
            "haematopoietic stem cell transplantation",
            "hematopoietic stem cell transplant",
            "bone marrow transplant",
            "bone marrow transplantation",
            "BMT",
            "stem cell transplant",
            "haemopoietic stem cell transplantation",
            "PBSCT",
        ],
        "mesenchymal-stem-cell-therapy": [
            "MSC",
            "MSC therapy",
            "mesenchymal stromal cells",
            "mesenchymal stem cells",
        ],
        "umbilical-cord-blood-therapy": [
            "cord blood",
            "cord blood stem cells",
            "UCB",
            "umbilical cord blood",
        ],
        "immunosuppressants": [
            "immunosuppressive drugs",
            "immunosuppressive therapy",
            "immunosuppression",
        ],
        "anti-inflammatory-drugs": ["NSAIDs", "non-steroidal anti-inflammatory drugs"],
        "corticosteroids": ["glucocorticoids", "steroids", "prednisolone"],
        "car-t-cell-therapy": ["CAR T", "chimeric antigen receptor T-cell therapy"],
    },
}
# Names that would file one concept under another: a subtype, or a different drug class.
FORBIDDEN_ALIASES = {
    Disease: {
        "guillain-barre-syndrome": ["AIDP", "acute inflammatory demyelinating polyneuropathy"]
    },
    Therapy: {
        "anti-inflammatory-drugs": [
            "corticosteroids",
            "steroids",
            "glucocorticoids",
            "prednisolone",
        ],
        "car-t-cell-therapy": ["CAR", "T cells"],
    },
}

# The day each shipped article was added to the library (its first commit to
# fixtures/articles.json). An article may not claim a later date than this; a new
# article must be listed here, which is the moment to check its date.
ADDED_ON = {
    datetime.date(2026, 11, 24): [
        FIRST_ARTICLE,
        "stem-cell-research-in-multiple-sclerosis",
        "stem-cell-approaches-in-rheumatoid-arthritis",
        "stem-cell-therapy-research-in-lupus",
        "psoriasis-and-stem-cell-research",
        "type-1-diabetes-and-stem-cell-research",
        "crohns-disease-and-stem-cell-therapy",
        "guillain-barre-syndrome-standard-care-and-stem-cell-research",
        "systemic-sclerosis-scleroderma-and-stem-cell-transplantation",
        "hematopoietic-stem-cell-transplantation-what-it-involves",
        "mesenchymal-stem-cell-therapy-explained",
        "umbilical-cord-blood-therapy-uses-research-and-limits",
        "immunosuppressants-in-autoimmune-disease",
        "anti-inflammatory-drugs-nsaids-and-corticosteroids",
        "unproven-stem-cell-clinics-how-to-protect-yourself",
    ],
    datetime.date(2026, 12, 2): [
        "how-to-find-and-judge-a-clinical-trial",
        "questions-to-ask-a-specialist-about-stem-cell-treatment",
        "recovering-from-autologous-hsct-what-to-expect",
        "car-t-cell-therapy-in-autoimmune-disease-early-research",
        "costs-insurance-and-travelling-abroad-for-treatment",
        "how-stem-cell-treatments-are-regulated-what-approved-means",
    ],
    datetime.date(2026, 12, 7): [
        "what-remission-and-success-rates-mean",
        "children-and-teenagers-stem-cell-treatments",
        "fertility-and-pregnancy-around-stem-cell-treatment",
        "life-after-hsct-relapse-medicines-vaccines-and-work",
        "my-disease-is-not-listed-finding-research",
    ],
}
ADDED_BY_SLUG = {slug: day for day, slugs in ADDED_ON.items() for slug in slugs}

# Markdown links and images: [text](url) or ![alt](url), and <url> autolinks.
MARKDOWN_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]*)")
HTML_HREF = re.compile(r"""(?:href|src)\s*=\s*["']?([^"'\s>]+)""", re.IGNORECASE)


def is_safe_link(url: str) -> bool:
    """An absolute http(s) URL, or a path on this site ("/articles/…", not "//host")."""
    return bool(re.match(r"https?://[^\s/]", url)) or (
        url.startswith("/") and not url.startswith("//")
    )


def original_text() -> tuple[str, str, list[str]]:
    """The source as published: its title, its text, and its closing keyword line."""
    paragraphs = ORIGINAL.read_text(encoding="utf-8").strip().split("\n\n")
    keywords = [word.strip() for word in paragraphs[-1].split(",")]
    text = re.sub(r"^  • ", "• ", "\n\n".join(paragraphs[1:-1]), flags=re.MULTILINE)
    return paragraphs[0], text, keywords


def markdown_as_source_text(body: str) -> str:
    """Undo only the Markdown structure added to the source: headings and list bullets."""
    lines = []
    for line in body.split("\n"):
        line = re.sub(r"^#{2,3} ", "", line)
        lines.append(re.sub(r"^- ", "• ", line))
    return "\n".join(lines).strip()


def normalised(text: str) -> str:
    return re.sub(r"\W+", " ", text.replace("’", "'")).strip().casefold()


def read_fixture(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))


def counts() -> dict[str, int]:
    return {
        "diseases": Disease.objects.count(),
        "therapies": Therapy.objects.count(),
        "tags": Tag.objects.count(),
        "articles": Article.objects.count(),
    }


def find_pk_keys(value) -> list[str]:
    """Every "pk" key anywhere in a decoded JSON document."""
    if isinstance(value, dict):
        found = ["pk"] if "pk" in value else []
        return found + [pk for item in value.values() for pk in find_pk_keys(item)]
    if isinstance(value, list):
        return [pk for item in value for pk in find_pk_keys(item)]
    return []


# The fixture files themselves


@pytest.mark.parametrize(
    "path",
    [FIXTURES / "taxonomy.json", FIXTURES / "articles.json", EXAMPLE],
    ids=lambda path: path.name,
)
def test_fixture_files_use_natural_keys_and_carry_no_primary_keys(path):
    records = read_fixture(path)

    assert records
    assert find_pk_keys(records) == []
    for record in records:
        assert set(record) == {"model", "fields"}
        if record["model"] == "library.article":
            assert "created_at" not in record["fields"]
            assert "updated_at" not in record["fields"]


def test_every_slug_an_article_refers_to_is_defined_in_the_taxonomy_file():
    taxonomy = read_fixture(FIXTURES / "taxonomy.json")
    defined = {
        field: {r["fields"]["slug"] for r in taxonomy if r["model"] == f"library.{model}"}
        for field, model in [("diseases", "disease"), ("therapies", "therapy"), ("tags", "tag")]
    }

    for record in read_fixture(FIXTURES / "articles.json"):
        for field, slugs in defined.items():
            referenced = {key[0] for key in record["fields"][field]}
            assert referenced <= slugs, (record["fields"]["slug"], field, referenced - slugs)


def test_example_slugs_do_not_collide_with_shipped_slugs():
    shipped = read_fixture(FIXTURES / "taxonomy.json") + read_fixture(FIXTURES / "articles.json")
    shipped_keys = {(r["model"], r["fields"]["slug"]) for r in shipped if "slug" in r["fields"]}
    example = read_fixture(EXAMPLE)

    assert {r["model"] for r in example} == {
        "library.disease",
        "library.therapy",
        "library.tag",
        "library.article",
    }
    assert not {(r["model"], r["fields"]["slug"]) for r in example} & shipped_keys


# Loading the shipped content


def test_loading_creates_every_disease_therapy_and_a_published_library(shipped_content):
    assert set(Disease.objects.values_list("slug", flat=True)) == DISEASE_SLUGS
    assert set(Therapy.objects.values_list("slug", flat=True)) == THERAPY_SLUGS
    assert Article.objects.published().count() >= 14
    assert not Article.objects.exclude(status=Article.Status.PUBLISHED).exists()


def test_loading_a_second_time_updates_rows_instead_of_duplicating_them(shipped_content):
    before = counts()

    call_command("loaddata", "taxonomy", "articles", verbosity=0)

    assert counts() == before


def test_every_disease_and_therapy_has_at_least_one_published_article(shipped_content):
    for model in (Disease, Therapy):
        without_articles = [
            term.slug for term in model.objects.with_article_counts() if term.article_count == 0
        ]
        assert without_articles == [], model.__name__


def test_every_shipped_article_has_a_substantial_body_a_summary_and_a_topic(shipped_content):
    for article in Article.objects.all():
        assert len(article.body.split()) >= 250, article.slug
        assert article.summary.strip(), article.slug
        assert "\n## " in f"\n{article.body}", f"{article.slug} has no ## section headings"
        assert article.diseases.exists() or article.therapies.exists(), article.slug


def test_articles_added_after_the_first_set_are_at_least_400_words(shipped_content):
    later = ADDED_ON[datetime.date(2026, 12, 2)]
    assert len(later) >= 6
    for article in Article.objects.filter(slug__in=later):
        assert len(article.body.split()) >= 400, article.slug
        assert article.further_reading, article.slug


def test_only_the_reproduced_article_names_a_source(shipped_content):
    """The site's own articles are not credited to organisations that did not write them."""
    sourced = Article.objects.exclude(source_name="")
    assert [a.slug for a in sourced] == [FIRST_ARTICLE]
    assert not Article.objects.filter(source_name="").exclude(source_url="").exists()
    for article in Article.objects.filter(source_name=""):
        assert article.written_for_library
        assert article.further_reading, f"{article.slug} points readers nowhere"


def test_further_reading_names_organisations_not_advice(shipped_content):
    for article in Article.objects.all():
        for link in article.further_reading:
            assert set(link) == {"name", "url"}, article.slug
            assert link["name"].strip(), article.slug
            assert not re.search(r"consult|ask your|talk to|;", link["name"], re.I), link["name"]


def test_every_link_in_the_shipped_content_is_http_or_on_this_site(shipped_content):
    checked = 0
    for article in Article.objects.all():
        urls = [link["url"] for link in article.further_reading]
        for text in (article.body, article.editor_note, article.summary):
            urls += MARKDOWN_LINK.findall(text) + HTML_HREF.findall(render_markdown(text))
        if article.source_url:
            urls.append(article.source_url)
        for url in urls:
            assert is_safe_link(url), (article.slug, url)
            checked += 1
    assert checked > len(ADDED_BY_SLUG)


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "data:text/html,x", "//evil.example", "ftp://x.org/", "mailto:a@b"],
)
def test_the_link_check_refuses_other_schemes(url):
    assert not is_safe_link(url)


def test_no_article_claims_a_date_after_the_day_it_was_added(shipped_content):
    shipped = dict(Article.objects.values_list("slug", "published_on"))
    assert set(shipped) == set(ADDED_BY_SLUG), "record when each new article was added"
    for slug, published_on in shipped.items():
        assert published_on <= ADDED_BY_SLUG[slug], slug


def test_every_shipped_row_passes_model_validation(shipped_content):
    for model in (Disease, Therapy, Tag, Article):
        for obj in model.objects.all():
            obj.full_clean()


def test_articles_written_for_the_library_quote_no_invented_percentages(shipped_content):
    for article in Article.objects.exclude(slug=FIRST_ARTICLE):
        assert not re.search(r"\d\s*(%|per ?cent)", article.body), article.slug


# The taxonomy readers search by


def test_diseases_and_therapies_list_the_aliases_readers_use(shipped_content):
    for model, required in REQUIRED_ALIASES.items():
        for slug, aliases in required.items():
            term = model.objects.get(slug=slug)
            missing = set(aliases) - set(term.alias_list)
            assert not missing, (slug, missing)
            assert term.description.strip(), slug
    for model, forbidden in FORBIDDEN_ALIASES.items():
        for slug, aliases in forbidden.items():
            term = model.objects.get(slug=slug)
            kept = {a.casefold() for a in term.alias_list} & {a.casefold() for a in aliases}
            assert not kept, (slug, kept)


def test_no_alias_or_name_belongs_to_two_terms(shipped_content):
    owner: dict[str, str] = {}
    for model in (Disease, Therapy):
        for term in model.objects.all():
            for word in {normalised(w) for w in [term.name, *split_aliases(term.aliases)]}:
                key = f"{model.__name__} {term.slug}"
                assert owner.setdefault(word, key) == key, (word, owner[word], key)


def test_corticosteroids_are_a_therapy_of_their_own(shipped_content):
    steroids = Therapy.objects.get(slug="corticosteroids")
    nsaids = Therapy.objects.get(slug="anti-inflammatory-drugs")

    assert "NSAID" in nsaids.name
    assert "corticosteroid" not in nsaids.aliases.lower()
    assert "CREST syndrome" in Disease.objects.get(slug="systemic-sclerosis").description
    article = Article.objects.get(slug="anti-inflammatory-drugs-nsaids-and-corticosteroids")
    assert set(article.therapies.values_list("slug", flat=True)) == {
        "anti-inflammatory-drugs",
        "corticosteroids",
    }
    assert not article.diseases.filter(slug="psoriasis").exists()
    assert steroids.articles.count() >= 5


def test_the_guillain_barre_article_is_not_filed_under_treatments_it_rules_out(shipped_content):
    article = Article.objects.get(
        slug="guillain-barre-syndrome-standard-care-and-stem-cell-research"
    )
    assert list(article.diseases.values_list("slug", flat=True)) == ["guillain-barre-syndrome"]
    assert not article.therapies.exists()


def test_every_disease_and_therapy_an_article_is_filed_under_is_named_in_it(shipped_content):
    for article in Article.objects.exclude(slug=FIRST_ARTICLE):
        text = normalised(f"{article.title} {article.summary} {article.body}")
        for term in [*article.diseases.all(), *article.therapies.all()]:
            names = [term.name, *term.alias_list, term.name.split(" (")[0]]
            names += [name.removesuffix("s") for name in names]  # "corticosteroid cream"
            assert any(f" {normalised(n)} " in f" {text} " for n in names), (
                article.slug,
                term.slug,
            )


def test_the_two_small_errors_stay_fixed(shipped_content):
    diabetes = Article.objects.get(slug="type-1-diabetes-and-stem-cell-research").body
    assert "related, established procedure" not in diabetes
    assert "not a stem cell treatment" in diabetes
    immuno = Article.objects.get(slug="immunosuppressants-in-autoimmune-disease").body
    line = next(line for line in immuno.splitlines() if "**mycophenolate**" in line)
    assert "Crohn" not in line


def test_names_keep_their_conventional_spelling(shipped_content):
    assert Disease.objects.get(slug="guillain-barre-syndrome").name == "Guillain-Barré syndrome"
    assert Disease.objects.get(slug="crohns-disease").name == "Crohn's disease"
    assert Therapy.objects.get(slug="hsct").name == "Hematopoietic stem cell transplantation"


def test_articles_use_the_words_readers_search_for(shipped_content):
    """Search tests rely on this vocabulary being present in realistic articles."""
    ms = Article.objects.filter(diseases__slug="multiple-sclerosis").exclude(slug=FIRST_ARTICLE)
    assert any("multiple sclerosis" in a.body.lower() and re.search(r"\bMS\b", a.body) for a in ms)

    hsct = Article.objects.filter(therapies__slug="hsct")
    assert any("hematopoietic stem cell transplantation" in a.body.lower() for a in hsct)

    ssc = Article.objects.filter(diseases__slug="systemic-sclerosis").exclude(slug=FIRST_ARTICLE)
    assert any("scleroderma" in a.body.lower() for a in ssc)

    gbs = Article.objects.filter(diseases__slug="guillain-barre-syndrome")
    assert any("Guillain-Barré syndrome" in a.body for a in gbs)


def test_spinal_cord_and_blood_tests_appear_apart_from_the_phrase_cord_blood(shipped_content):
    """A phrase search for "cord blood" must be able to tell these articles apart."""
    words_apart = [
        a
        for a in Article.objects.all()
        if "spinal cord" in a.body
        and "blood tests" in a.body
        and not re.search(r"\bcord\W+blood\b", a.body, re.IGNORECASE)
    ]
    assert words_apart
    cord_blood = Article.objects.filter(therapies__slug="umbilical-cord-blood-therapy")
    assert any("cord blood" in a.body for a in cord_blood)


# The first article, carried over from its source


def test_first_article_keeps_its_source_and_the_day_it_was_added(shipped_content):
    article = Article.objects.get(slug=FIRST_ARTICLE)

    assert article.is_published
    assert article.title == original_text()[0]
    assert article.published_on == datetime.date(2026, 11, 24)  # the source carries no date
    assert article.source_name == "NestFact"
    assert "nestfact.com" in article.source_url


def test_first_article_body_equals_the_original_text(shipped_content):
    body = Article.objects.get(slug=FIRST_ARTICLE).body

    assert markdown_as_source_text(body) == original_text()[1]


def test_first_article_keeps_its_keyword_line_as_the_sources_keywords(shipped_content):
    """A keyword naming a disease or therapy links to it; every other keyword is shown as
    the source's keyword, and only those naming a real topic are also site tags."""
    article = Article.objects.get(slug=FIRST_ARTICLE)
    terms = {
        normalised(name): term
        for term in [*article.diseases.all(), *article.therapies.all()]
        for name in [term.name, *term.alias_list]
    }
    source_keywords = [normalised(k) for k in article.source_keywords.split(",")]
    tags = {normalised(tag.name) for tag in article.tags.all()}
    keywords = original_text()[2]

    assert len(keywords) == 30
    for keyword in keywords:
        key = normalised(keyword)
        assert (key in terms) != (key in source_keywords), keyword
    assert len(source_keywords) == sum(normalised(k) not in terms for k in keywords) == 21
    assert tags < set(source_keywords)
    assert {"stem cell hope", "medical breakthroughs", "alternative healing", "nestfact"} <= (
        set(source_keywords) - tags
    )
    assert "next gen medicine" not in article.body


def test_no_tag_duplicates_a_disease_or_therapy(shipped_content):
    names = {
        normalised(name)
        for model in (Disease, Therapy)
        for term in model.objects.all()
        for name in [term.name, *term.alias_list]
    }
    assert [tag.name for tag in Tag.objects.all() if normalised(tag.name) in names] == []


def test_first_article_has_an_editors_note_outside_its_body(shipped_content):
    article = Article.objects.get(slug=FIRST_ARTICLE)
    note = article.editor_note

    assert "own" in note and "autologous" in note
    assert "rare" in note
    assert "still being studied" in note
    assert "/articles/hematopoietic-stem-cell-transplantation-what-it-involves/" in note
    assert "/articles/unproven-stem-cell-clinics-how-to-protect-yourself/" in note
    assert note not in article.body
    for slug in re.findall(r"\(/articles/([^/]+)/\)", note):
        assert Article.objects.published().filter(slug=slug).exists(), slug


def test_the_article_page_credits_truthfully(client, shipped_content):
    first = client.get(f"/articles/{FIRST_ARTICLE}/").content.decode()
    own = client.get("/articles/stem-cell-therapy-research-in-lupus/").content.decode()

    assert re.search(
        r'Source: <a href="https://www.nestfact.com/2025/05/stem-cell-therapy-for-autoimmune.html"'
        r"[^>]*>NestFact</a>",
        first,
    )
    assert "Added to the library" in first and "24 November 2026" in first
    assert "Written for this library" not in first
    assert "Written for this library" in own
    assert "Source:" not in own
    assert re.search(r'<a href="https://www.lupus.org/"[^>]*>Lupus Foundation of America</a>', own)
    assert "consult" not in " ".join(re.findall(r"<a [^>]*>([^<]*)</a>", own)).lower()


def test_the_editors_note_is_on_the_page_above_the_body(client, shipped_content):
    page = client.get(f"/articles/{FIRST_ARTICLE}/").content.decode()

    note = page.index('class="editor-note"')
    assert "Editor’s note" in page
    assert note < page.index('class="prose"')
    assert 'href="/articles/unproven-stem-cell-clinics-how-to-protect-yourself/"' in page[note:]


def test_the_editors_note_is_never_searched_or_shown_in_snippets(client, indexed_library):
    """Words only the note uses find nothing, and no snippet or API highlight quotes it."""
    article = Article.objects.get(slug=FIRST_ARTICLE)
    note_only = "not one of the most common autoimmune diseases"
    assert note_only in article.editor_note
    assert note_only not in article.body

    document = build_document(Article.objects.get(slug=FIRST_ARTICLE))
    assert "reproduced word for word" not in " ".join(map(str, vars(document).values()))
    # The exact phrase is in no indexed text: the search says so and falls back to its words.
    assert client.get("/api/search/", {"q": f'"{note_only}"'}).json()["loosened"] == [note_only]
    assert client.get("/api/search/", {"q": "reproduced"}).json()["count"] == 0
    api = client.get("/api/search/", {"q": "Guillain-Barré rare"}).json()
    for result in api["results"]:
        assert "is a rare condition, not one" not in result["highlight"]
    page = client.get("/articles/", {"q": "autologous transplant donor"}).content.decode()
    assert "reproduced word for word" not in page


def test_first_article_body_keeps_the_source_wording_and_structure(shipped_content):
    article = Article.objects.get(slug=FIRST_ARTICLE)
    body = article.body

    assert not body.startswith(("# ", article.title))
    for heading in [
        "## Understanding Stem Cells and Autoimmune Disorders",
        "## How Stem Cell Therapy Works for Autoimmune Diseases",
        "### 1. Hematopoietic Stem Cell Transplantation (HSCT)",
        "### 2. Mesenchymal Stem Cell Therapy (MSC)",
        "## What the Research Says",
        "## Risks and Challenges",
        "## A Glimpse into the Future",
    ]:
        assert f"\n{heading}\n" in body, heading
    assert "- Guillain-Barré syndrome\n" in body
    assert "one\u2019s quality of life" in body, "typographic apostrophes are kept"
    last_paragraph = body.strip().split("\n\n")[-1]
    assert last_paragraph.startswith("To stay informed")
    assert "www.nestfact.com" in last_paragraph


def test_first_article_links_every_disease_and_therapy_it_names(shipped_content):
    article = Article.objects.get(slug=FIRST_ARTICLE)

    assert set(article.diseases.values_list("slug", flat=True)) == DISEASE_SLUGS
    assert set(article.therapies.values_list("slug", flat=True)) == THERAPY_SLUGS - {
        "corticosteroids",  # the source names "anti-inflammatory drugs", no drug class
        "car-t-cell-therapy",
    }


# The example for people loading their own articles


def test_example_fixture_loads_on_top_of_the_shipped_content(shipped_content):
    before = counts()

    call_command("loaddata", str(EXAMPLE), verbosity=0)

    assert counts() == {name: n + 1 for name, n in before.items()}
    article = Article.objects.get(slug="plasma-exchange-in-myasthenia-gravis")
    assert not article.is_published  # an example, with a fictional reviewer: never live
    assert list(article.diseases.values_list("slug", flat=True)) == ["myasthenia-gravis"]
    assert list(article.therapies.values_list("slug", flat=True)) == ["plasma-exchange"]
    assert list(article.tags.values_list("slug", flat=True)) == ["example"]
    assert len(article.body.split()) >= 120
    assert article.written_for_library
    assert article.further_reading[0]["name"].startswith("MedlinePlus")
