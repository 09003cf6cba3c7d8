"""Every facet value of a search entry in one array, for counting a page's facets.

`facet_values` holds an entry's diseases, therapies, tags and year as one text array
of `facet:value` tokens (`disease:lupus`, `year:2024`; the facet names of
`search.backends.base.FACET_FIELDS`). A results page counts its facets with one
`unnest ... GROUP BY` over this column of its materialised match set, instead of
four unnests of four columns appended together and grouped by two keys. It is a
stored generated column, so the index-writing code is unchanged and the column is
never out of step with the four it is made from. On SQLite this does nothing.
"""

import importlib

from django.db import migrations

# The RunPython step of 0004: runs its SQL on PostgreSQL only.
on_postgresql = importlib.import_module("search.migrations.0004_postgres_rank_head").on_postgresql

FORWARD = """
CREATE FUNCTION search_facet_values(diseases text[], therapies text[], tags text[], year integer)
RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY(SELECT 'disease:' || v FROM unnest(diseases) AS v)
        || ARRAY(SELECT 'therapy:' || v FROM unnest(therapies) AS v)
        || ARRAY(SELECT 'tag:' || v FROM unnest(tags) AS v)
        || ARRAY['year:' || year]
$$;
ALTER TABLE search_entry ADD COLUMN facet_values text[]
    GENERATED ALWAYS AS (search_facet_values(diseases, therapies, tags, year)) STORED;
"""

BACKWARD = """
ALTER TABLE search_entry DROP COLUMN IF EXISTS facet_values;
DROP FUNCTION IF EXISTS search_facet_values(text[], text[], text[], integer);
"""


class Migration(migrations.Migration):
    dependencies = [("search", "0008_postgres_sections")]

    operations = [migrations.RunPython(on_postgresql(FORWARD), on_postgresql(BACKWARD))]
