"""Drop the `SearchEntry` model, which nothing used: the table `search_entry` stays.

The model was unmanaged and described five of the table's columns; the PostgreSQL
backend reads and writes the table in its own SQL (`search.backends.postgres`). Deleting
an unmanaged model changes no table, on PostgreSQL or on SQLite.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("search", "0004_postgres_rank_head"),
    ]

    operations = [
        migrations.DeleteModel(
            name="SearchEntry",
        ),
    ]
