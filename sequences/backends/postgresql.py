"""PostgreSQL: one ``INSERT ... ON CONFLICT ... DO UPDATE ... RETURNING`` per call.

Every path (plain, ``reset_value``, ``nowait``, ``timeout``, batches) is a
single statement, so a call costs one round trip inside the caller's
transaction.
"""

from __future__ import annotations

import math
import time
from time import monotonic
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, OperationalError

from ..exceptions import SequenceOverflow
from ..validation import MAX_VALUE
from . import STATEMENTS, cache_statements, locked, table_name

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

    from . import ManyRequest

# A bounded wait (timeout, rounded up to whole milliseconds; nowait: 1 ms, the
# smallest lock_timeout there is, as 0 would mean "no limit") sets the
# transaction-local lock_timeout inside the statement itself, so a call stays
# one round trip. The lock timeout catches
# both waits that NOWAIT cannot: on a row that another transaction updates,
# and on a row that another transaction is still inserting (the first call of
# a sequence).
#
# Order is made explicit, not left to the evaluation order of a select list:
# ``saved`` reads the caller's setting, ``limited`` (which reads ``saved``)
# lowers it, the insert draws its one row from ``limited``, and the final
# select, whose FROM clause holds the insert's output, puts the caller's
# setting back. The LEFT JOIN yields a row even when the insert returns none
# (the sequence is full), so the setting is restored on both outcomes in
# which the transaction stays usable: a value or SequenceOverflow. After a
# lock error the transaction (or the savepoint around the call) is aborted,
# and rolling it back restores the setting as PostgreSQL does for every
# SET LOCAL.
#
# The limit covers the row locks only. The insert's table lock (ROW
# EXCLUSIVE) is taken when the statement is parsed, before any of it runs: a
# transaction holding a conflicting table lock (LOCK TABLE, ALTER TABLE,
# TRUNCATE, a running migrate) makes this call wait under the caller's own
# lock_timeout, nowait or not.
LIMITED = (
    "WITH saved AS MATERIALIZED (SELECT current_setting('lock_timeout') AS lock_timeout), "
    "limited AS MATERIALIZED (SELECT set_config('lock_timeout', %s, true) FROM saved), "
    "drawn AS ("
    "INSERT INTO {table} AS seq (name, last) SELECT %s, %s FROM limited "
    "ON CONFLICT (name) DO UPDATE SET last = {advance} RETURNING seq.last) "
    "SELECT drawn.last, set_config('lock_timeout', saved.lock_timeout, true) "
    "FROM saved LEFT JOIN drawn ON true"
)

# Advance by batch_size while that stays <= 2**63 - 1; past that, no row comes
# back and the caller raises SequenceOverflow.
ADVANCE = "seq.last + %s WHERE seq.last <= %s"
# The same for one value, the common call: two parameters (name, initial
# value) instead of four, which the driver adapts on every call.
ADVANCE_ONE = f"seq.last + 1 WHERE seq.last < {MAX_VALUE:d}"

# reset_value: at or above reset_value - batch_size, start again.
ADVANCE_OR_RESET = "CASE WHEN seq.last >= %s THEN %s ELSE seq.last + %s END"

UPSERT = (
    "INSERT INTO {table} AS seq (name, last) VALUES (%s, %s) "
    "ON CONFLICT (name) DO UPDATE SET last = {advance} "
    "RETURNING last"
)

#: lock_timeout is an int of milliseconds; 1 ms is the smallest limit (0 is none).
MAX_LOCK_TIMEOUT_MS = 2**31 - 1


def lock_timeout_setting(seconds: float) -> str:
    """``lock_timeout`` for a wait of ``seconds``: rounded up to whole ms, at least 1 ms."""
    return f"{min(max(1, math.ceil(seconds * 1000)), MAX_LOCK_TIMEOUT_MS)}ms"


# get_next_value_many: one row per name, inserted (and so locked) in the order
# of the array, which the caller sorted: ORDER BY the array's ordinality makes
# that explicit. Past 2**63 - 1 the new value is NULL, which NOT NULL refuses:
# the statement fails as a whole and nothing is consumed.
MANY_ROWS = (
    "INSERT INTO {table} AS seq (name, last) "
    "SELECT v.name, %s FROM {source}unnest(%s::varchar[]) WITH ORDINALITY AS v(name, ord) "
    "ORDER BY v.ord "
    "ON CONFLICT (name) DO UPDATE SET last = CASE WHEN seq.last < %s THEN seq.last + 1 END "
    "RETURNING seq.name, seq.last"
)
MANY = MANY_ROWS.format(table="{table}", source="")
# The insert hands its rows to the outer query one at a time, so a restore
# evaluated per output row would put the caller's lock_timeout back after the
# first sequence, before the others are locked. ``restored`` counts all of
# ``drawn`` first (an aggregate reads its input to the end), then restores.
MANY_LIMITED = (
    "WITH saved AS MATERIALIZED (SELECT current_setting('lock_timeout') AS lock_timeout), "
    "limited AS MATERIALIZED (SELECT set_config('lock_timeout', %s, true) FROM saved), "
    "drawn AS (" + MANY_ROWS.format(table="{table}", source="limited, ") + "), "
    "restored AS MATERIALIZED ("
    "SELECT set_config('lock_timeout', saved.lock_timeout, true) "
    "FROM saved, (SELECT count(*) FROM drawn) AS done) "
    "SELECT drawn.name, drawn.last FROM restored LEFT JOIN drawn ON true"
)

LOCK_NOT_AVAILABLE = "55P03"
NOT_NULL_VIOLATION = "23502"


#: The advance of each kind of draw, by index: one value, a batch, reset_value.
ADVANCES = (ADVANCE_ONE, ADVANCE, ADVANCE_OR_RESET)


def upsert_sql(table: str, kind: int, limited: bool) -> str:
    """The draw statement; ``limited`` takes the lock_timeout as its first parameter."""
    return (LIMITED if limited else UPSERT).format(table=table, advance=ADVANCES[kind])


def draw(
    connection: BaseDatabaseWrapper,
    sequence_name: str,
    created_last: int,
    batch_size: int,
    reset_threshold: int | None,
    timeout: float | None,
) -> int | None:
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
    if timeout is not None:
        params.insert(0, lock_timeout_setting(timeout))
        index += 3
    try:
        sql = connection.__dict__[STATEMENTS][index]
    except KeyError:
        sql = cache_statements(connection, upsert_sql)[index]
    started = monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
    except OperationalError as exc:
        if _sqlstate(exc) == LOCK_NOT_AVAILABLE:  # timeout, or the caller's lock_timeout
            raise locked(sequence_name, connection.alias, started, timeout) from exc
        raise
    return None if row is None or row[0] is None else int(row[0])


def draw_many(connection: BaseDatabaseWrapper, request: ManyRequest) -> dict[str, int]:
    timeout = request.timeout
    sql = (MANY if timeout is None else MANY_LIMITED).format(table=table_name(connection))
    params: list[Any] = [request.initial_value, list(request.sequence_names), MAX_VALUE]
    if timeout is not None:
        params.insert(0, lock_timeout_setting(timeout))
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    except OperationalError as exc:
        if _sqlstate(exc) == LOCK_NOT_AVAILABLE:
            raise request.locked(started) from exc
        raise
    except IntegrityError as exc:
        if _sqlstate(exc) == NOT_NULL_VIOLATION:
            raise SequenceOverflow(", ".join(request.sequence_names), request.using) from exc
        raise
    return {name: int(last) for name, last in rows if name is not None}


def _sqlstate(exc: BaseException) -> str | None:
    cause = exc.__cause__
    # psycopg 3 names it sqlstate, psycopg2 pgcode.
    return getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
