"""How sequence names are matched on MariaDB and MySQL, and how to change it.

django-sequences 3.1 created ``name`` with the table's default collation,
usually case- and accent-insensitive and blind to trailing spaces (PAD SPACE):
``"Invoices"``, ``"invoices"`` and ``"invoices "`` were one sequence. Changing
that collation under existing rows would split such a sequence and restart the
new spellings at their initial value: numbers issued twice. So:

- migration ``0004`` gives exact (binary, no-pad) matching only to a database
  whose sequence table is empty, and leaves a switched database as 3.1 made it;
- converting is an explicit, audited step: ``manage.py sequence_collation``;
- the ``sequences.E001``/``W001``/``W002`` checks inspect the live columns
  (:func:`check_name_collation`, run by ``check --database ALIAS`` and
  ``migrate``). Django has one ``db_collation`` for every vendor, and the
  right collation depends on the database's history (switched from 3.1 or
  new), not on its vendor or version, so no field definition can state it.

PostgreSQL and SQLite (and 3.1 on them) always compare names exactly.
Nothing that a migration calls imports a model: migrations call those
functions with historical models' tables (``name_columns()`` and the system
check, which do, are for the live project).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core import checks
from django.db import connections, router

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

#: Binary and NO PAD: names compare byte for byte, as on PostgreSQL and SQLite.
MARIADB_EXACT = "utf8mb4_nopad_bin"  # MariaDB 10.2.2 and later
MYSQL_EXACT = "utf8mb4_0900_bin"  # MySQL 8.0.17 and later
EXACT_COLLATIONS = frozenset({MARIADB_EXACT, MYSQL_EXACT})
MYSQL_EXACT_SINCE = (8, 0, 17)
#: What 3.1's matching is taken to be when the table's default cannot apply.
FALLBACK_FOLDING = "utf8mb4_general_ci"
MARIADB_EXACT_SINCE = (10, 2, 2)

COLUMN_COLLATION = (
    "SELECT COLLATION_NAME FROM information_schema.COLUMNS "
    "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s AND COLUMN_NAME = %s"
)
TABLE_COLLATION = (
    "SELECT TABLE_COLLATION FROM information_schema.TABLES "
    "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s"
)
KNOWN_COLLATION = (
    "SELECT COLLATION_NAME FROM information_schema.COLLATIONS "
    "WHERE COLLATION_NAME = %s AND CHARACTER_SET_NAME = 'utf8mb4'"
)
# A collation name cannot be a parameter: it is checked against
# information_schema.COLLATIONS (KNOWN_COLLATION) before it is formatted in.
ALTER_NAME_COLUMN = (
    "ALTER TABLE {table} MODIFY {column} VARCHAR({length}) "
    "CHARACTER SET utf8mb4 COLLATE {collation} NOT NULL"
)
# Groups of rows that one collation takes for one name; MIN() picks a
# representative to look the group up by.
FOLDED_GROUPS = (
    "SELECT MIN({column}) FROM {table} GROUP BY {column} COLLATE {collation} HAVING COUNT(*) > 1"
)
FOLDED_MEMBERS = (
    "SELECT {column}, {value} FROM {table} "
    "WHERE {column} COLLATE {collation} = CONVERT(%s USING utf8mb4) COLLATE {collation} "
    "ORDER BY {column}"
)


class ExactMatchingUnavailable(ValueError):
    """The server has no binary, no-pad utf8mb4 collation (MySQL 8.0.11 to 8.0.16)."""


def exact_collation(*, mariadb: bool, version: tuple[int, ...]) -> str | None:
    """The binary, no-pad collation this server offers, or ``None`` if it has none.

    MariaDB has ``utf8mb4_nopad_bin`` since 10.2.2; MySQL has
    ``utf8mb4_0900_bin`` since 8.0.17. MySQL 8.0.11 to 8.0.16 (which Django
    5.2 supports) have only ``utf8mb4_bin``, which is PAD SPACE: ``"inv"`` and
    ``"inv "`` would still be one sequence, so it does not count as exact.
    """
    if mariadb:
        return MARIADB_EXACT if tuple(version[:3]) >= MARIADB_EXACT_SINCE else None
    return MYSQL_EXACT if tuple(version[:3]) >= MYSQL_EXACT_SINCE else None


def require_exact_collation(*, mariadb: bool, version: tuple[int, ...]) -> str:
    """:func:`exact_collation`, or :class:`ExactMatchingUnavailable` saying what to do."""
    collation = exact_collation(mariadb=mariadb, version=version)
    if collation is None:
        server = "MariaDB" if mariadb else "MySQL"
        found = ".".join(str(part) for part in version[:3])
        since = ".".join(
            str(part) for part in (MARIADB_EXACT_SINCE if mariadb else MYSQL_EXACT_SINCE)
        )
        raise ExactMatchingUnavailable(
            f"{server} {found} has no binary, no-pad utf8mb4 collation "
            f"({MARIADB_EXACT if mariadb else MYSQL_EXACT} exists from {server} {since}); "
            "its utf8mb4_bin ignores trailing spaces, so names cannot be matched exactly. "
            f"Upgrade the server to {server} {since} or later, then convert; until then "
            "sequence names keep the matching they have."
        )
    return collation


def _server(connection: BaseDatabaseWrapper) -> tuple[bool, tuple[int, ...]]:
    return (
        bool(connection.mysql_is_mariadb),  # type: ignore[attr-defined]
        tuple(connection.mysql_version),  # type: ignore[attr-defined]
    )


def server_exact_collation(connection: BaseDatabaseWrapper) -> str | None:
    """:func:`exact_collation` for a live MariaDB/MySQL connection."""
    mariadb, version = _server(connection)
    return exact_collation(mariadb=mariadb, version=version)


def require_server_exact_collation(connection: BaseDatabaseWrapper) -> str:
    """:func:`require_exact_collation` for a live MariaDB/MySQL connection."""
    mariadb, version = _server(connection)
    return require_exact_collation(mariadb=mariadb, version=version)


@dataclass(frozen=True)
class Column:
    """One name column: its table and column as the model's ``_meta`` names them."""

    table: str
    column: str
    max_length: int

    @classmethod
    def of(cls, model: Any, field_name: str) -> Column:
        """The column of ``model.field_name``; ``model`` may be a historical model."""
        field = model._meta.get_field(field_name)
        return cls(str(model._meta.db_table), str(field.column), int(field.max_length))


def column_collation(connection: BaseDatabaseWrapper, column: Column) -> str | None:
    """The live column's collation (``None``: no such column)."""
    with connection.cursor() as cursor:
        cursor.execute(COLUMN_COLLATION, [column.table, column.column])
        row = cursor.fetchone()
    return None if row is None or row[0] is None else str(row[0])


def table_default_collation(connection: BaseDatabaseWrapper, table: str) -> str | None:
    """The table's default collation: what a ``MODIFY`` without ``COLLATE`` gives a column."""
    with connection.cursor() as cursor:
        cursor.execute(TABLE_COLLATION, [table])
        row = cursor.fetchone()
    return None if row is None else str(row[0])


def folding_collation(connection: BaseDatabaseWrapper, table: str) -> str:
    """The collation 3.1 most likely matched names with: the table's default, in utf8mb4.

    3.1 created ``name`` without a collation, so it took the table's default.
    A utf8mb3 default (``utf8_general_ci``) is mapped to its utf8mb4 twin so
    that it applies to the utf8mb4 column; a default of another character set
    becomes ``utf8mb4_general_ci``.
    """
    default = table_default_collation(connection, table) or FALLBACK_FOLDING
    for prefix in ("utf8mb3_", "utf8_"):
        if default.startswith(prefix):
            default = "utf8mb4_" + default[len(prefix) :]
    try:
        return check_collation_name(connection, default)
    except ValueError:
        # Another character set (MySQL 5.7's latin1_swedish_ci, say): its
        # collations cannot apply to a utf8mb4 column. general_ci folds case,
        # accents and trailing spaces as those did.
        return FALLBACK_FOLDING


def check_collation_name(connection: BaseDatabaseWrapper, collation: str) -> str:
    """``collation`` if the server knows it as a utf8mb4 collation, else ``ValueError``."""
    with connection.cursor() as cursor:
        cursor.execute(KNOWN_COLLATION, [collation])
        row = cursor.fetchone()
    if row is None:
        raise ValueError(
            f"{collation!r} is not a utf8mb4 collation on this server; see "
            "SHOW COLLATION WHERE Charset = 'utf8mb4' for the ones it has."
        )
    return str(row[0])


def set_column_collation(connection: BaseDatabaseWrapper, column: Column, collation: str) -> None:
    """``ALTER TABLE ... MODIFY`` the column to ``collation`` (checked by the caller)."""
    sql = ALTER_NAME_COLUMN.format(
        table=connection.ops.quote_name(column.table),
        column=connection.ops.quote_name(column.column),
        length=int(column.max_length),
        collation=collation,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)


def near_duplicates(
    connection: BaseDatabaseWrapper, column: Column, value: str, collation: str
) -> list[list[tuple[str, int]]]:
    """Rows whose names ``collation`` takes for one: each group as (name, value) pairs.

    ``value`` is the column shown beside each name (``last`` for sequences).
    With the folding collation 3.1 used, each group is one sequence that 3.1
    knew, split by exact matching.
    """
    quote = connection.ops.quote_name
    table, name = quote(column.table), quote(column.column)
    with connection.cursor() as cursor:
        cursor.execute(FOLDED_GROUPS.format(column=name, table=table, collation=collation))
        representatives = [row[0] for row in cursor.fetchall()]
        groups = []
        for representative in sorted(representatives):
            cursor.execute(
                FOLDED_MEMBERS.format(
                    column=name, value=quote(value), table=table, collation=collation
                ),
                [representative],
            )
            groups.append([(str(row[0]), int(row[1])) for row in cursor.fetchall()])
    return groups


def name_columns() -> tuple[Column, Column]:
    """The two name columns, from the live models' ``_meta`` (relabelling works)."""
    from .models import Sequence, SequenceChange

    return Column.of(Sequence, "name"), Column.of(SequenceChange, "sequence_name")


def check_name_collation(
    app_configs: Any = None, databases: Iterable[str] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Inspect the name columns' collations on every MariaDB/MySQL database asked for.

    - ``sequences.E001``: ``name`` and the audit trail's ``sequence_name``
      match names differently, typically after a later ``AlterField`` (a
      ``MODIFY`` without ``COLLATE`` resets a column to the table's default)
      or an interrupted conversion.
    - ``sequences.W001``: names match exactly, and some were one sequence
      under 3.1's matching (near-duplicates).
    - ``sequences.W002``: ``name`` has neither exact matching nor the table's
      default collation, so the next ``ALTER`` without ``COLLATE`` would
      change which names are one sequence.
    """
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
