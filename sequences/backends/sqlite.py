"""SQLite: the same single upsert as PostgreSQL (``RETURNING`` needs SQLite 3.35).

SQLite locks the whole database for writing, so there is no row lock to wait
for: a writer waits for the database lock for up to the connection's
``timeout`` (Django's ``OPTIONS["timeout"]``, 5 seconds by default). With
``nowait=True`` the busy timeout drops to zero for the one statement, so a
locked database raises :class:`~sequences.SequenceLocked` at once.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from time import monotonic
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, OperationalError

from ..exceptions import SequenceOverflow
from ..validation import MAX_VALUE
from . import STATEMENTS, cache_statements, locked, table_name
from .postgresql import upsert_sql

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

    from . import ManyRequest


def supports_returning(connection: BaseDatabaseWrapper) -> bool:
    return sqlite3.sqlite_version_info >= (3, 35, 0)


def draw(
    connection: BaseDatabaseWrapper,
    sequence_name: str,
    created_last: int,
    batch_size: int,
    reset_threshold: int | None,
    timeout: float | None,
) -> int | None:
    # The statements and parameters are PostgreSQL's (without a lock_timeout).
    if reset_threshold is not None:
        params: list[int | str] = [
            sequence_name,
            created_last,
            reset_threshold,
            created_last,
            batch_size,
        ]
        index = 2
    elif batch_size == 1:
        params = [sequence_name, created_last]
        index = 0
    else:
        params = [sequence_name, created_last, batch_size, MAX_VALUE - batch_size]
        index = 1
    try:
        sql = connection.__dict__[STATEMENTS][index]
    except KeyError:
        sql = cache_statements(connection, upsert_sql)[index]
    started = monotonic()
    with connection.cursor() as cursor:
        try:
            if timeout is None or holds_write_lock(connection):
                cursor.execute(sql, params)
                row = cursor.fetchone()
            else:
                # _busy_timeout written out: a generator per call costs more
                # than the PRAGMAs' own Python.
                raw = connection.connection
                wanted = busy_timeout_ms(timeout)
                saved = raw.execute(BUSY_TIMEOUT).fetchone()[0]
                if saved == wanted:
                    cursor.execute(sql, params)
                    row = cursor.fetchone()
                else:
                    raw.execute(SET_BUSY_TIMEOUT % wanted)
                    try:
                        cursor.execute(sql, params)
                        row = cursor.fetchone()
                    finally:
                        raw.execute(SET_BUSY_TIMEOUT % int(saved))
        except OperationalError as exc:
            # "database is locked": the busy timeout ran out, or (at once) a
            # transaction that has read tried to start writing while another
            # one writes. See the README on transaction_mode = "IMMEDIATE".
            if "database is locked" in str(exc):
                raise locked(sequence_name, connection.alias, started, timeout) from exc
            raise
    return None if row is None else int(row[0])


# get_next_value_many: one multi-row upsert. SQLite locks the whole database,
# so the order of the rows does not matter for deadlocks; they are sorted
# anyway. Past 2**63 - 1 the new value is NULL, which NOT NULL refuses: the
# statement fails as a whole (SQLite rolls back the statement) and nothing is
# consumed.
MANY = (
    "INSERT INTO {table} AS seq (name, last) VALUES {rows} "
    "ON CONFLICT (name) DO UPDATE SET last = CASE WHEN seq.last < %s THEN seq.last + 1 END "
    "RETURNING name, last"
)


@lru_cache(maxsize=64)
def many_sql(table: str, count: int) -> str:
    return MANY.format(table=table, rows=", ".join(["(%s, %s)"] * count))


def draw_many(connection: BaseDatabaseWrapper, request: ManyRequest) -> dict[str, int]:
    params: list[Any] = []
    for name in request.sequence_names:
        params += [name, request.initial_value]
    params.append(MAX_VALUE)
    sql = many_sql(table_name(connection), len(request.sequence_names))
    started = time.monotonic()
    with connection.cursor() as cursor:
        try:
            with _busy_timeout(connection, request.timeout):
                cursor.execute(sql, params)
                rows = cursor.fetchall()
        except OperationalError as exc:
            if "database is locked" in str(exc):
                raise request.locked(started) from exc
            raise
        except IntegrityError as exc:
            if "NOT NULL" in str(exc):
                raise SequenceOverflow(", ".join(request.sequence_names), request.using) from exc
            raise
    return {name: int(last) for name, last in rows}


@contextmanager
def _busy_timeout(connection: BaseDatabaseWrapper, seconds: float | None) -> Iterator[None]:
    """Set the busy timeout to ``seconds`` inside the block; put the caller's back on every exit.

    One PRAGMA (the read) when the connection's busy timeout is already
    ``seconds``, as with ``timeout=5`` on Django's default connection; three
    otherwise (read, set, put back).

    On the ``sqlite3`` connection itself, not through Django's cursor: a
    PRAGMA runs in process (no round trip), so Django's cursor wrapper and
    query logging were most of its cost; and the draw's own statement stays
    the only one in Django's query log. The connection must be open (call it
    inside ``connection.cursor()``).
    """
    if seconds is None or holds_write_lock(connection):
        yield
        return
    raw = connection.connection
    wanted = busy_timeout_ms(seconds)
    saved = raw.execute(BUSY_TIMEOUT).fetchone()[0]
    if saved == wanted:
        # The connection already waits that long: nothing to set or put back.
        yield
        return
    raw.execute(SET_BUSY_TIMEOUT % wanted)
    try:
        yield
    finally:
        # Unless Django closed the connection meanwhile (a failed rollback
        # does): a closed one has no busy timeout to restore, and the error
        # that closed it is the one to see.
        if connection.connection is raw:
            raw.execute(SET_BUSY_TIMEOUT % int(saved))


def holds_write_lock(connection: BaseDatabaseWrapper) -> bool:
    """Whether the current transaction took SQLite's write lock when it began.

    True inside ``atomic()`` when the outermost block began the transaction
    with ``BEGIN IMMEDIATE`` or ``BEGIN EXCLUSIVE`` (``OPTIONS["transaction_mode"]``,
    what ``sequences.W101`` recommends): the lock is held until the
    transaction ends, so no statement of it waits for a lock, and there is no
    wait for ``nowait``/``timeout`` to bound. Not when ``atomic()`` joined a
    transaction begun with autocommit turned off (``commit_on_exit`` is then
    false: Python's ``sqlite3`` began it deferred), nor inside the deferred
    transaction of a check (:data:`BEGUN_DEFERRED`).
    """
    return (
        connection.in_atomic_block
        and connection.commit_on_exit
        and getattr(connection, "transaction_mode", None) in ("IMMEDIATE", "EXCLUSIVE")
        and BEGUN_DEFERRED not in connection.__dict__
    )


#: Set on a connection (in its ``__dict__``) while ``sequence_check``'s
#: snapshot transaction, begun ``DEFERRED`` whatever ``transaction_mode``
#: says, is open: it holds no write lock.
BEGUN_DEFERRED = "_sequences_begun_deferred"


BUSY_TIMEOUT = "PRAGMA busy_timeout"
# A PRAGMA takes no bound parameter: the value is written in, as an int.
SET_BUSY_TIMEOUT = "PRAGMA busy_timeout = %d"


#: busy_timeout is an int of milliseconds.
MAX_BUSY_TIMEOUT_MS = 2**31 - 1


def busy_timeout_ms(seconds: float) -> int:
    """A lock wait limit as SQLite's busy timeout: whole milliseconds, rounded up."""
    return min(math.ceil(seconds * 1000), MAX_BUSY_TIMEOUT_MS)
