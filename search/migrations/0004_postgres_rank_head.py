"""A small stored vector per search entry for ranking a results page in two stages.

`head` is `vector` without its body positions (title, summary and taxonomy: weights
A, B and C), a stored generated column, so the index-writing code is unchanged and
the column is never out of step with `vector`. The PostgreSQL backend ranks every
matching row by `head` (a few hundred bytes, stored inline), then only the best few
hundred by the full `vector` (which is TOASTed: reading it is what a rank costs);
see `search.backends.postgres`. On SQLite this does nothing.
"""

from django.db import migrations

FORWARD = """
ALTER TABLE search_entry ADD COLUMN head tsvector
    GENERATED ALWAYS AS (ts_filter(vector, '{a,b,c}')) STORED;
"""

BACKWARD = "ALTER TABLE search_entry DROP COLUMN IF EXISTS head;"


def on_postgresql(sql: str):
    """A RunPython step running `sql` on PostgreSQL only."""

    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("search", "0003_postgres_search")]

    operations = [migrations.RunPython(on_postgresql(FORWARD), on_postgresql(BACKWARD))]
