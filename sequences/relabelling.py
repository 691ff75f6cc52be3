"""A check that stops ``migrate`` from starting sequences over under a new label.

The tables and the migration history of an app are named after its label.
Relabel an installation that has handed out numbers, and ``migrate`` creates
new, empty tables: every sequence would start again at its
``initial_value`` and issue its numbers a second time. ``sequences.E020``
says so before that happens (``migrate`` runs database checks first).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.apps import AppConfig, apps
from django.core import checks
from django.db import DatabaseError, connections, router

#: The table of the app under its default label (and of django-sequences 3.1).
DEFAULT_TABLE = "sequences_sequence"
DEFAULT_LABEL = "sequences"

#: Does a table hold at least one row? One row read, whatever the table's size.
ANY_ROW = "SELECT 1 FROM {table} LIMIT 1"


def check_tables_left_behind(
    app_configs: Iterable[AppConfig] | None = None,
    databases: Iterable[str] | None = None,
    **kwargs: Any,
) -> list[checks.CheckMessage]:
    """``sequences.E020`` for each database where a relabel would start sequences over.

    That is: the app is installed under another label, no other app holds the
    label ``sequences`` (whose table this would then be), the database has a
    ``sequences_sequence`` table with rows, and the app's own table is
    missing or empty.
    """
    from .models import Sequence

    config = Sequence._meta.app_config
    if app_configs is not None and config not in app_configs:
        return []
    table = Sequence._meta.db_table
    if not databases or table == DEFAULT_TABLE or DEFAULT_LABEL in apps.app_configs:
        return []
    errors: list[checks.CheckMessage] = []
    for alias in databases:
        if not router.allow_migrate_model(alias, Sequence):
            continue
        connection = connections[alias]
        try:
            with connection.cursor() as cursor:
                tables = set(connection.introspection.table_names(cursor))
                if DEFAULT_TABLE not in tables or not _has_rows(connection, cursor, DEFAULT_TABLE):
                    continue
                if table in tables and _has_rows(connection, cursor, table):
                    continue
        except DatabaseError:
            continue  # an unreachable database is reported by Django itself
        errors.append(
            checks.Error(
                f"The sequences app is installed under the label {config.label!r}, so its "
                f"table is {table!r}, which is missing or empty on database {alias!r}; but "
                f"{DEFAULT_TABLE!r} there holds sequences. Under the new label every "
                "sequence would start again at its initial_value and issue its numbers "
                "a second time.",
                hint=(
                    f"Keep the label 'sequences', or first move the tables and the "
                    f"migration history to the label {config.label!r} (see "
                    "docs/relabelling.md). If the old table is really abandoned, "
                    'silence this with SILENCED_SYSTEM_CHECKS = ["sequences.E020"].'
                ),
                obj=config,
                id="sequences.E020",
            )
        )
    return errors


def _has_rows(connection: Any, cursor: Any, table: str) -> bool:
    cursor.execute(ANY_ROW.format(table=connection.ops.quote_name(table)))
    return cursor.fetchone() is not None
