"""One module per database vendor, each with the fastest correct statement it has.

Every backend module exposes ``draw(connection, request) -> int | None``: it
takes ``request.batch_size`` values from the sequence inside the caller's
transaction and returns the new last value, or ``None`` when the sequence
would pass :data:`~sequences.validation.MAX_VALUE`.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.backends.base.base import BaseDatabaseWrapper

from ..exceptions import SequenceLocked
from ..validation import MAX_VALUE

if TYPE_CHECKING:
    DrawFunction = Callable[[BaseDatabaseWrapper, "DrawRequest"], "int | None"]


@dataclass(frozen=True, slots=True)
class DrawRequest:
    """What one call of ``get_next_value(s)`` asks of a backend."""

    sequence_name: str
    using: str
    #: ``last`` of a sequence created by this call: ``initial_value + batch_size - 1``.
    created_last: int
    batch_size: int
    #: With ``reset_value``: when ``last`` is at or above this, start again at
    #: ``initial_value`` (``reset_value - batch_size``, so that no value drawn
    #: reaches ``reset_value``). ``None`` without ``reset_value``.
    reset_threshold: int | None
    nowait: bool
    #: The longest this call waits for the row lock, in seconds: ``None``
    #: waits as the connection does, ``0.0`` is ``nowait`` (which sets it).
    timeout: float | None = None

    def __post_init__(self) -> None:
        if self.nowait and self.timeout != 0:
            object.__setattr__(self, "timeout", 0.0)

    def locked(self, started: float) -> SequenceLocked:
        """The error for a lock wait that gave up; ``started`` is ``time.monotonic()``."""
        return SequenceLocked(
            self.sequence_name,
            self.using,
            waited=time.monotonic() - started,
            timeout=self.timeout,
        )

    @property
    def overflow_threshold(self) -> int:
        """The highest ``last`` that can still advance by ``batch_size``."""
        return MAX_VALUE - self.batch_size


@dataclass(frozen=True, slots=True)
class ManyRequest:
    """What one call of ``get_next_value_many`` asks of a backend."""

    #: Distinct names, in the order their rows are locked (sorted).
    sequence_names: tuple[str, ...]
    using: str
    #: ``last`` of a sequence created by this call.
    initial_value: int
    #: As :attr:`DrawRequest.timeout`: ``None`` waits as the connection does.
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


# Quoted once per connection object, not on every call of get_next_value.
_table_names: weakref.WeakKeyDictionary[BaseDatabaseWrapper, str] = weakref.WeakKeyDictionary()


def table_name(connection: BaseDatabaseWrapper) -> str:
    """The sequences table, quoted, as the model's ``_meta`` names it (relabelling works)."""
    try:
        return _table_names[connection]
    except KeyError:
        from ..models import Sequence

        quoted = _table_names[connection] = connection.ops.quote_name(Sequence._meta.db_table)
        return quoted


def get_draw_function(connection: BaseDatabaseWrapper) -> DrawFunction:
    """Pick the backend module for ``connection``'s vendor."""
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
