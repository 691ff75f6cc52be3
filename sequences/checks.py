"""System checks of the live database (``check --database ALIAS``, and ``migrate``).

Django has one ``db_collation`` for every vendor, and the right collation of
a name column depends on the database's history (switched from 3.1 or new),
not on its vendor or version, so no field definition can state it. Instead,
these checks read the live columns on MariaDB/MySQL and say what is wrong:

- ``sequences.E001``: ``name`` and the audit trail's ``sequence_name`` match
  names differently, typically after a later ``AlterField`` (a ``MODIFY``
  without ``COLLATE`` resets a column to the table's default collation) or
  an interrupted conversion.
- ``sequences.W001``: names match exactly, and some names were one sequence
  under 3.1's matching (near-duplicates).
- ``sequences.W002``: ``name`` has neither exact matching nor the table's
  default collation, so the next ``ALTER`` of the column without ``COLLATE``
  would change which names are one sequence.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core import checks
from django.db import connections, router

from .collation import Column


def name_columns() -> tuple[Column, Column]:
    """The two name columns, from the live models' ``_meta`` (relabelling works)."""
    from .models import Sequence, SequenceChange

    return Column.of(Sequence, "name"), Column.of(SequenceChange, "sequence_name")


def check_name_collation(
    app_configs: Any = None, databases: Iterable[str] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Inspect the name columns' collations on every MariaDB/MySQL database asked for."""
    from .collation import (
        EXACT_COLLATIONS,
        column_collation,
        folding_collation,
        near_duplicates,
        table_default_collation,
    )
    from .models import Sequence

    messages: list[checks.CheckMessage] = []
    for alias in databases or ():
        connection = connections[alias]
        if connection.vendor != "mysql" or not router.allow_migrate_model(alias, Sequence):
            continue
        names, audit = name_columns()
        name_collation = column_collation(connection, names)
        audit_collation = column_collation(connection, audit)
        if name_collation is None or audit_collation is None:
            continue  # Not migrated yet.
        command = f"manage.py sequence_collation --database {alias}"
        if name_collation != audit_collation:
            messages.append(
                checks.Error(
                    f"On database {alias!r}, {names.table}.{names.column} uses collation "
                    f"{name_collation} but {audit.table}.{audit.column} uses "
                    f"{audit_collation}: the sequences and their audit trail match "
                    "names differently.",
                    hint=(
                        "A migration (an AlterField without db_collation) or an interrupted "
                        "conversion changed one of them. Run "
                        f"'{command}' to see both, then '{command} --exact' or "
                        f"'{command} --table-default' to give both the same matching "
                        "(see docs/collation.md)."
                    ),
                    id="sequences.E001",
                )
            )
        if name_collation in EXACT_COLLATIONS:
            folding = folding_collation(connection, names.table)
            groups = near_duplicates(connection, names, "last", folding)
            if groups:
                shown = "; ".join(
                    ", ".join(repr(name) for name, _ in group) for group in groups[:5]
                )
                more = f" and {len(groups) - 5} more" if len(groups) > 5 else ""
                messages.append(
                    checks.Warning(
                        f"On database {alias!r}, {len(groups)} group(s) of sequence names "
                        f"were one sequence under {folding} (django-sequences 3.1's "
                        f"matching) and are separate sequences now: {shown}{more}.",
                        hint=(
                            f"Run '{command} --list-near-duplicates' and merge each group "
                            "as docs/collation.md explains, or, if the names are distinct "
                            "on purpose, add sequences.W001 to SILENCED_SYSTEM_CHECKS."
                        ),
                        id="sequences.W001",
                    )
                )
        else:
            default = table_default_collation(connection, names.table)
            if name_collation != default:
                messages.append(
                    checks.Warning(
                        f"On database {alias!r}, {names.table}.{names.column} uses "
                        f"collation {name_collation}, which is neither exact matching nor "
                        f"the table's default ({default}): the next ALTER of the column "
                        "without COLLATE (an AlterField) would change which names are one "
                        "sequence.",
                        hint=(
                            f"Run '{command} --table-default' to give it the table's "
                            f"default, or '{command} --exact' for exact matching "
                            "(see docs/collation.md)."
                        ),
                        id="sequences.W002",
                    )
                )
    return messages
