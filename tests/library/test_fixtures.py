"""The public fixture format: good files load idempotently, bad files change nothing."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from library.models import Article, Disease, Tag, Therapy

pytestmark = pytest.mark.django_db

GOOD_ARTICLE = {
    "model": "library.article",
    "fields": {
        "title": "A careful article",
        "slug": "a-careful-article",
        "summary": "A summary.",
        "body": "Some **Markdown**.",
        "status": "published",
        "published_on": "2025-05-01",
        "source_name": "A registered clinical trial listing",
        "source_url": "https://clinicaltrials.gov/",
        "diseases": [["multiple-sclerosis"]],
        "therapies": [["hsct"]],
        "tags": [["clinical-trials"]],
    },
}


def snapshot() -> str:
    """The library app dumped as JSON, times at the millisecond precision the format keeps.

    Django's serializer writes times to the millisecond: a time of 20:42:38.000271 is
    written "20:42:38.000Z" and reads back as 20:42:38, which it writes "20:42:38Z".
    Both name the same millisecond, so they are written one way here.
    """
    out = io.StringIO()
    call_command(
        "dumpdata", "library", natural_foreign=True, natural_primary=True, indent=1, stdout=out
    )
    return re.sub(r'(T\d\d:\d\d:\d\d)\.000(Z|[+-]\d\d:\d\d)?"', r'\1\2"', out.getvalue())


def write_fixture(tmp_path, records, name="incoming.json"):
    path = tmp_path / name
    path.write_text(json.dumps(records) if not isinstance(records, str) else records)
    return path


def load_statements(path, pattern: str) -> list[str]:
    """Load the fixture at `path`; the SQL statements it ran that match `pattern`."""
    with CaptureQueriesContext(connection) as statements:
        call_command("loaddata", str(path), verbosity=0)
    return [q["sql"] for q in statements if re.search(pattern, q["sql"])]


def with_fields(**changes):
    record = json.loads(json.dumps(GOOD_ARTICLE))
    for key, value in changes.items():
        if value is None:
            record["fields"].pop(key)
        else:
            record["fields"][key] = value
    return record


@pytest.fixture
def loaded(shipped_content):
    return snapshot()


def test_a_good_fixture_loads_with_its_relations(loaded, tmp_path):
    call_command("loaddata", str(write_fixture(tmp_path, [GOOD_ARTICLE])), verbosity=0)

    article = Article.objects.get(slug="a-careful-article")
    assert [d.slug for d in article.diseases.all()] == ["multiple-sclerosis"]
    assert [t.slug for t in article.therapies.all()] == ["hsct"]
    assert [t.slug for t in article.tags.all()] == ["clinical-trials"]
    assert article.updated_at is not None


def test_further_reading_and_an_editors_note_load_and_stay_optional(loaded, tmp_path):
    reading = [{"name": "NHS", "url": "https://www.nhs.uk/"}]
    records = [
        with_fields(slug="with-extras", further_reading=reading, editor_note="*Context.*"),
        with_fields(slug="old-format"),  # a fixture written before these fields existed
    ]
    call_command("loaddata", str(write_fixture(tmp_path, records)), verbosity=0)

    with_extras = Article.objects.get(slug="with-extras")
    assert with_extras.further_reading == reading
    assert with_extras.editor_note == "*Context.*"
    old_format = Article.objects.get(slug="old-format")
    assert (old_format.further_reading, old_format.editor_note) == ([], "")


def test_loading_the_same_fixture_twice_updates_instead_of_duplicating(loaded, tmp_path):
    path = write_fixture(tmp_path, [GOOD_ARTICLE])
    call_command("loaddata", str(path), verbosity=0)
    counts = (Article.objects.count(), Disease.objects.count(), Tag.objects.count())

    changed = with_fields(title="A careful article, revised")
    call_command("loaddata", str(write_fixture(tmp_path, [changed])), verbosity=0)

    assert (Article.objects.count(), Disease.objects.count(), Tag.objects.count()) == counts
    assert Article.objects.get(slug="a-careful-article").title == "A careful article, revised"


def test_reloading_an_article_replaces_its_relations_and_leaves_others_alone(loaded, tmp_path):
    other = Article.objects.filter(diseases__slug="multiple-sclerosis").first()
    others_diseases = set(other.diseases.values_list("slug", flat=True))
    call_command("loaddata", str(write_fixture(tmp_path, [GOOD_ARTICLE])), verbosity=0)
    changed = with_fields(diseases=[["lupus"]], therapies=[], tags=[["clinical-trials"]])
    call_command("loaddata", str(write_fixture(tmp_path, [changed])), verbosity=0)

    article = Article.objects.get(slug="a-careful-article")
    assert list(article.diseases.values_list("slug", flat=True)) == ["lupus"]
    assert list(article.therapies.all()) == []
    assert list(article.tags.values_list("slug", flat=True)) == ["clinical-trials"]
    assert set(other.diseases.values_list("slug", flat=True)) == others_diseases


def test_a_load_writes_the_articles_relations_in_a_few_statements_not_per_article(loaded, tmp_path):
    """The deserializer's `set()` costs about nine statements per article; the load
    writes each relation with one DELETE and one INSERT for the whole file."""
    records = [
        with_fields(slug=f"article-{n}", title=f"Article {n}", diseases=[["lupus"]])
        for n in range(40)
    ]
    links = load_statements(
        write_fixture(tmp_path, records),
        r'(INSERT INTO|DELETE FROM) "library_article_(diseases|therapies|tags)"',
    )
    assert len(links) == 6, links  # a DELETE and an INSERT per relation
    for n in (0, 39):
        article = Article.objects.get(slug=f"article-{n}")
        assert list(article.diseases.values_list("slug", flat=True)) == ["lupus"]
        assert list(article.therapies.values_list("slug", flat=True)) == ["hsct"]


def test_a_load_looks_up_its_slugs_in_a_few_statements_not_one_per_new_article(loaded, tmp_path):
    """Django resolves each record's natural key before saving it: one SELECT by slug
    per new article, unless the load's slugs are looked up together first. An article
    already in the database is still updated, not duplicated."""
    call_command(
        "loaddata", str(write_fixture(tmp_path, [GOOD_ARTICLE], "first.json")), verbosity=0
    )
    existing = Article.objects.get(slug="a-careful-article").pk
    records = [with_fields(title="A careful article, revised")] + [
        with_fields(slug=f"article-{n}", title=f"Article {n}") for n in range(40)
    ]
    by_slug = load_statements(
        write_fixture(tmp_path, records),
        r'FROM "library_article" WHERE "library_article"."slug" (=|IN)',
    )
    assert len(by_slug) <= 2, by_slug
    assert Article.objects.get(slug="a-careful-article").pk == existing
    assert Article.objects.get(pk=existing).title == "A careful article, revised"
    assert Article.objects.filter(slug__startswith="article-").count() == 40


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (with_fields(diseases=[["no-such-disease"]]), ["field 'diseases'", "no-such-disease"]),
        (with_fields(title=None), ["field 'title'", "required"]),
        (with_fields(title=""), ["field 'title'", "blank"]),
        (with_fields(published_on="2025-13-45"), ["field 'published_on'", "invalid date"]),
        (with_fields(published_on="yesterday"), ["field 'published_on'", "YYYY-MM-DD"]),
        (with_fields(status="archived"), ["field 'status'", "archived"]),
        (with_fields(colour="blue"), ["field 'colour'", "no such field"]),
        (with_fields(tags="clinical-trials"), ["field 'tags'", "list"]),
        (with_fields(further_reading=[{"name": "X", "url": "javascript:alert(1)"}]),
         ["field 'further_reading'", "link 1", "“javascript:alert(1)” is not an http:// or https:// URL"]),
        (with_fields(further_reading=[{"name": "NHS", "url": "https://www.nhs.uk/"}, {"url": "https://x.org/"}]),
         ["field 'further_reading'", "link 2: a name is required"]),
        (with_fields(further_reading=[{"name": "NHS"}]), ["field 'further_reading'", "link 1: a URL is required"]),
        (with_fields(further_reading="https://www.nhs.uk/"), ["field 'further_reading'", "list of links"]),
        (with_fields(further_reading=[{"name": "NHS", "url": "https://www.nhs.uk/", "note": "x"}]),
         ["field 'further_reading'", "unknown key(s) note"]),
    ],
    ids=["unknown-disease", "missing-title", "blank-title", "bad-date", "not-a-date",
         "unknown-status", "unknown-field", "tags-not-a-list", "reading-javascript-url",
         "reading-without-name", "reading-without-url", "reading-not-a-list", "reading-unknown-key"],
)  # fmt: skip
def test_a_bad_record_fails_naming_file_record_and_field_and_changes_nothing(
    loaded, tmp_path, record, expected
):
    path = write_fixture(
        tmp_path, [GOOD_ARTICLE | {"fields": GOOD_ARTICLE["fields"] | {"slug": "fine-one"}}, record]
    )

    with pytest.raises(CommandError) as error:
        call_command("loaddata", str(path), verbosity=0)

    message = str(error.value)
    assert str(path) in message
    assert "record 2" in message
    for fragment in expected:
        assert fragment in message
    assert snapshot() == loaded
    assert not Article.objects.filter(slug="fine-one").exists()


def test_a_repeated_slug_is_refused(loaded, tmp_path):
    path = write_fixture(tmp_path, [GOOD_ARTICLE, GOOD_ARTICLE])

    with pytest.raises(CommandError, match=r"record 2 \(slug “a-careful-article”\).*repeated"):
        call_command("loaddata", str(path), verbosity=0)
    assert snapshot() == loaded


def test_invalid_json_is_refused_with_its_position(loaded, tmp_path):
    path = write_fixture(tmp_path, '[{"model": "library.tag", "fields": {"name": "X"')

    with pytest.raises(CommandError, match=r"not valid JSON.*line 1"):
        call_command("loaddata", str(path), verbosity=0)
    assert snapshot() == loaded


def test_a_bad_file_among_good_ones_loads_none_of_them(db, tmp_path):
    good = write_fixture(
        tmp_path, [{"model": "library.tag", "fields": {"name": "New", "slug": "new"}}], "a.json"
    )
    bad = write_fixture(tmp_path, [with_fields(diseases=[["nope"]])], "b.json")

    with pytest.raises(CommandError, match=r"b\.json"):
        call_command("loaddata", str(good), str(bad), verbosity=0)
    assert not Tag.objects.exists()


def test_articles_may_reference_taxonomy_defined_later_in_the_same_load(db, tmp_path):
    taxonomy = [
        {
            "model": "library.disease",
            "fields": {"name": "Lupus", "slug": "lupus", "aliases": "SLE"},
        },
        {"model": "library.therapy", "fields": {"name": "HSCT", "slug": "hsct"}},
    ]
    article = with_fields(diseases=[["lupus"]], therapies=[["hsct"]], tags=[])
    path = write_fixture(tmp_path, [article, *taxonomy])

    call_command("loaddata", str(path), verbosity=0)

    assert Article.objects.get().diseases.get().slug == "lupus"


def test_dump_flush_and_load_gives_back_identical_content(shipped_content, tmp_path):
    # A time less than a millisecond past the second is written "…:38.000Z".
    first = Article.objects.order_by("pk").first()
    Article.objects.filter(pk=first.pk).update(created_at=first.created_at.replace(microsecond=271))
    loaded = snapshot()
    dump = tmp_path / "dump.json"
    call_command(
        "dumpdata", "library", natural_foreign=True, natural_primary=True, output=str(dump)
    )
    if connection.vendor == "postgresql":
        # Inside the test's transaction, deferred foreign-key checks block TRUNCATE.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    call_command("flush", interactive=False, verbosity=0)
    assert not Article.objects.exists()

    call_command("loaddata", str(dump), verbosity=0)

    assert snapshot() == loaded


def test_the_documented_example_file_loads(shipped_content):
    call_command("loaddata", "examples/example-articles.json", verbosity=0)

    article = Article.objects.get(slug="plasma-exchange-in-myasthenia-gravis")
    assert article.diseases.get().slug == "myasthenia-gravis"
    assert Therapy.objects.filter(slug="plasma-exchange").exists()
