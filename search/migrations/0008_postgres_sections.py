"""Where each indexed article's sections start, for answering a question with a section.

`search_section` holds one row per `search_entry` row: its body's h2 and h3 headings,
each with the anchor the article page gives it and the offset of its line in the
indexed plain body, as text (one line per section: offset, anchor and heading, tab
separated). A table of its own, so the entry's upsert and its page statement are
unchanged; it goes with its entry (`ON DELETE CASCADE`). The PostgreSQL backend writes
it with the entry and reads it for the few rows a question re-ranks (see
`search.backends.postgres`). On SQLite this does nothing.
"""

import importlib

from django.db import migrations

FORWARD = """
CREATE TABLE search_section (
    article_id bigint PRIMARY KEY REFERENCES search_entry (article_id) ON DELETE CASCADE,
    sections text NOT NULL
);
"""

BACKWARD = "DROP TABLE IF EXISTS search_section;"

# The RunPython step of 0004: runs its SQL on PostgreSQL only.
on_postgresql = importlib.import_module("search.migrations.0004_postgres_rank_head").on_postgresql


class Migration(migrations.Migration):
    dependencies = [("search", "0007_default_intents")]

    operations = [migrations.RunPython(on_postgresql(FORWARD), on_postgresql(BACKWARD))]
