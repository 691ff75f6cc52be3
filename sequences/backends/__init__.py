"""One module per database vendor, each with the fastest correct statement it has.

Every backend module exposes ``draw(connection, sequence_name, created_last,
batch_size, reset_threshold, timeout) -> int | None``: it takes ``batch_size``
values from the sequence inside the caller's transaction and returns the new
last value, or ``None`` when the sequence would pass
:data:`~sequences.validation.MAX_VALUE`. The arguments, checked by the caller:

- ``created_last``: ``last`` of a sequence created by this call,
  ``initial_value + batch_size - 1``;
- ``reset_threshold``: with ``reset_value``, when ``last`` is at or above it,
  start again at ``initial_value`` (``reset_value - batch_size``, so that no
  value drawn reaches ``reset_value``); ``None`` without ``reset_value``;
- ``timeout``: the longest the call waits for the row lock, in seconds:
  ``None`` waits as the connection does, ``0.0`` is ``nowait``.

Positional arguments rather than a request object: the draw is the hot path,
and a frozen dataclass (whose ``__init__`` sets each field through
``object.__setattr__``) was one of the larger items in its profile
(``python -m benchmarks.overhead``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.backends.base.base import BaseDatabaseWrapper

from ..exceptions import SequenceLocked

if TYPE_CHECKING:
    DrawFunction = Callable[
        [BaseDatabaseWrapper, str, int, int, "int | None", "float | None"], "int | None"
    ]


def locked(
    sequence_name: str, using: str, started: float, timeout: float | None
) -> SequenceLocked:
    """The error for a lock wait that gave up; ``started`` is ``time.monotonic()``."""
    return SequenceLocked(sequence_name, using, waited=time.monotonic() - started, timeout=timeout)


@dataclass(frozen=True, slots=True)
class ManyRequest:
    """What one call of ``get_next_value_many`` asks of a backend."""

    #: Distinct names, in the order their rows are locked (sorted).
    sequence_names: tuple[str, ...]
    using: str
    #: ``last`` of a sequence created by this call.
    initial_value: int
    #: As a draw's ``timeout``: ``None`` waits as the connection does.
    timeout: float | None

    def locked(self, started: float) -> SequenceLocked:
        return SequenceLocked(
            ", ".join(self.sequence_names),
            self.using,
            waited=time.monotonic() - started,
            timeout=self.timeout,
        )


if TYPE_CHECKING:
    DrawManyFunction = Callable[[BaseDatabaseWrapper, ManyRequest], "dict[str, int]"]


def get_draw_many_function(connection: BaseDatabaseWrapper) -> DrawManyFunction | None:
    """The vendor's one-statement draw of several sequences, or ``None`` (loop instead)."""
    vendor = connection.vendor
    if vendor == "postgresql":
        from . import postgresql

        return postgresql.draw_many
    if vendor == "mysql" and getattr(connection, "mysql_is_mariadb", False):
        from . import mysql

        return mysql.draw_many
    if vendor == "sqlite":
        from . import sqlite

        if sqlite.supports_returning(connection):
            return sqlite.draw_many
    return None


# Quoted once per connection object, not on every call of get_next_value; in
# the connection's __dict__, where the lookup costs less than a weak reference.
TABLE_ATTRIBUTE = "_sequences_table"
DRAW_ATTRIBUTE = "_sequences_draw"


# The draw statements of a connection, formatted once per connection object by
# the vendor's ``upsert_sql(table, kind, limited)``: index 0 for one value, 1
# for a batch, 2 with reset_value; +3 with a lock wait limit. The draw reads
# ``connection.__dict__[STATEMENTS][index]`` itself (cheaper than an
# lru_cache called with keywords) and calls this on the first draw only.
STATEMENTS = "_sequences_statements"


def cache_statements(
    connection: BaseDatabaseWrapper, upsert_sql: Callable[[str, int, bool], str]
) -> tuple[str, ...]:
    table = table_name(connection)
    made = connection.__dict__[STATEMENTS] = tuple(
        upsert_sql(table, kind, limited) for limited in (False, True) for kind in range(3)
    )
    return made


def table_name(connection: BaseDatabaseWrapper) -> str:
    """The sequences table, quoted, as the model's ``_meta`` names it (relabelling works)."""
    try:
        return connection.__dict__[TABLE_ATTRIBUTE]  # type: ignore[no-any-return]
    except KeyError:
        from ..models import Sequence

        quoted = connection.ops.quote_name(Sequence._meta.db_table)
        connection.__dict__[TABLE_ATTRIBUTE] = quoted
        return quoted


def get_draw_function(connection: BaseDatabaseWrapper) -> DrawFunction:
    """Pick the backend module for ``connection``'s vendor (once per connection object)."""
    try:
        return connection.__dict__[DRAW_ATTRIBUTE]  # type: ignore[no-any-return]
    except KeyError:
        pass
    draw = connection.__dict__[DRAW_ATTRIBUTE] = _pick_draw_function(connection)
    return draw


def _pick_draw_function(connection: BaseDatabaseWrapper) -> DrawFunction:
    vendor = connection.vendor
    if vendor == "postgresql":
        from . import postgresql

        return postgresql.draw
    if vendor == "mysql":
        from . import mysql

        return mysql.draw
    if vendor == "sqlite":
        from . import sqlite

        if sqlite.supports_returning(connection):
            return sqlite.draw
    from . import generic

    return generic.draw
