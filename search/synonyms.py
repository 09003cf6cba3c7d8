"""Synonym groups from the taxonomy: each disease's and therapy's name with its aliases.

Read from the database on every call (two small queries) rather than cached: an alias
an editor adds in the admin must take effect in every web process at once, and a
per-process cache would need cross-process invalidation for almost no saving.
"""

from __future__ import annotations

from library.models import Disease, Therapy, split_aliases


def synonym_groups() -> tuple[tuple[str, ...], ...]:
    """`(name, *aliases)` for every disease and therapy, diseases first, by name.

    A term without aliases is a group of one, kept so callers can rely on every
    taxonomy name being present.
    """
    groups: list[tuple[str, ...]] = []
    for model in (Disease, Therapy):
        for name, aliases in model.objects.order_by("name").values_list("name", "aliases"):
            members = tuple(dict.fromkeys([name.strip(), *split_aliases(aliases)]))
            groups.append(members)
    return tuple(groups)
