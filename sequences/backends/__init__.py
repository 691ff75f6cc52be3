"""One module per database vendor, each with the fastest correct statement it has.

Every backend module exposes ``draw(connection, request) -> int | None``: it
takes ``request.batch_size`` values from the sequence inside the caller's
transaction and returns the new last value, or ``None`` when the sequence
would pass :data:`~sequences.validation.MAX_VALUE`.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.backends.base.base import BaseDatabaseWrapper

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

    @property
    def overflow_threshold(self) -> int:
        """The highest ``last`` that can still advance by ``batch_size``."""
        return MAX_VALUE - self.batch_size


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
