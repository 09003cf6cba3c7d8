"""The PostgreSQL search backend's tables, indexes and text-search configuration.

On SQLite (or any other database) the RunPython step does nothing: those sites use
the Whoosh backend. On PostgreSQL it creates the `unaccent`, `pg_trgm` and
`fuzzystrmatch` extensions (all three are trusted, so the database owner may create
them), a text-search configuration `stemsite_english` (English Snowball stemming
after `unaccent`; the dictionary has no stop-word list because stop words are
removed in Python from the same short list Whoosh uses, see
`search.backends.postgres`), and the backend's tables.
"""

from django.db import migrations, models

FORWARD = """
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS fuzzystrmatch;
CREATE TEXT SEARCH DICTIONARY stemsite_english_stem (TEMPLATE = snowball, Language = english);
CREATE TEXT SEARCH CONFIGURATION stemsite_english (COPY = english);
ALTER TEXT SEARCH CONFIGURATION stemsite_english
    ALTER MAPPING FOR asciiword, asciihword, hword_asciipart WITH stemsite_english_stem;
ALTER TEXT SEARCH CONFIGURATION stemsite_english
    ALTER MAPPING FOR word, hword, hword_part WITH unaccent, stemsite_english_stem;

CREATE TABLE search_entry (
    article_id bigint PRIMARY KEY,
    slug text NOT NULL,
    title text NOT NULL,
    title_sort text NOT NULL,
    summary text NOT NULL,
    body text NOT NULL,
    vector tsvector NOT NULL,
    spelling text[] NOT NULL,
    complete text NOT NULL,
    diseases text[] NOT NULL,
    therapies text[] NOT NULL,
    tags text[] NOT NULL,
    published_on date NOT NULL,
    year integer NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX search_entry_vector ON search_entry USING gin (vector);
CREATE INDEX search_entry_spelling ON search_entry USING gin (spelling);
CREATE INDEX search_entry_complete ON search_entry USING gin (complete gin_trgm_ops);
CREATE INDEX search_entry_facets ON search_entry USING gin (diseases, therapies, tags);
CREATE INDEX search_entry_newest ON search_entry (published_on DESC, title_sort COLLATE "C");

-- Taxonomy names and aliases, once each: autocomplete and did-you-mean vocabulary.
CREATE TABLE search_phrase (
    key text PRIMARY KEY,
    display text NOT NULL,
    spelling text[] NOT NULL,
    complete text NOT NULL
);
CREATE INDEX search_phrase_complete ON search_phrase USING gin (complete gin_trgm_ops);
CREATE INDEX search_phrase_spelling ON search_phrase USING gin (spelling);

-- Every word ever indexed for spelling; a word no entry or phrase carries any more
-- counts 0 and is never suggested. Cleared by a rebuild.
CREATE TABLE search_word (word text PRIMARY KEY);
CREATE INDEX search_word_prefix ON search_word (word text_pattern_ops);

-- One row once the index has been written to (`exists()`), and the rebuild journal.
CREATE TABLE search_index_state (
    id integer PRIMARY KEY CHECK (id = 1),
    created_at timestamptz NOT NULL DEFAULT now(),
    rebuild_owner text
);
CREATE TABLE search_journal (article_id bigint NOT NULL);
"""

BACKWARD = """
DROP TABLE IF EXISTS search_journal, search_index_state, search_word, search_phrase,
    search_entry;
DROP TEXT SEARCH CONFIGURATION IF EXISTS stemsite_english;
DROP TEXT SEARCH DICTIONARY IF EXISTS stemsite_english_stem;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [
        ("search", "0002_search_terms"),
    ]

    operations = [
        migrations.AddField(
            model_name="pendingindexupdate",
            name="index",
            field=models.CharField(default="default", max_length=200),
        ),
        migrations.AlterField(
            model_name="pendingindexupdate",
            name="article_id",
            field=models.BigIntegerField(),
        ),
        migrations.AddConstraint(
            model_name="pendingindexupdate",
            constraint=models.UniqueConstraint(
                fields=("index", "article_id"), name="search_pending_per_index"
            ),
        ),
        migrations.CreateModel(
            name="SearchEntry",
            fields=[
                ("article_id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("slug", models.TextField()),
                ("title", models.TextField()),
                ("published_on", models.DateField()),
                ("updated_at", models.DateTimeField()),
            ],
            options={"db_table": "search_entry", "managed": False},
        ),
        migrations.RunPython(forward, backward, elidable=False),
    ]
