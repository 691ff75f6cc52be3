"""MariaDB and MySQL: one ``INSERT ... ON DUPLICATE KEY UPDATE`` per call.

``LAST_INSERT_ID(expr)`` makes the server send the new value back in the OK
packet of the insert itself (the driver's ``lastrowid``), so there is no
``SELECT`` afterwards: one round trip, on MariaDB and MySQL alike. MariaDB's
``INSERT ... RETURNING`` would do too, but MySQL lacks it.
"""

from __future__ import annotations

import math
import time
from functools import lru_cache
from time import monotonic
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, OperationalError

from ..exceptions import SequenceOverflow
from ..validation import MAX_VALUE
from . import STATEMENTS, cache_statements, locked, table_name

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

    from . import ManyRequest

# MariaDB's SET STATEMENT changes a variable for one statement only, so the
# caller's session keeps its own value on every outcome. The limit covers any
# row lock wait (on an existing row, or on a row another transaction is still
# inserting) and fails with error 1205; 0 (nowait) fails at once. The
# variable counts whole seconds: a timeout is rounded up (0.3 s waits 1 s),
# never down to nowait. The table's metadata lock (ALTER TABLE, a running
# migrate) is governed by lock_wait_timeout, not by this.
LIMITED = "SET STATEMENT innodb_lock_wait_timeout = %s FOR "

#: The largest innodb_lock_wait_timeout MariaDB accepts.
MAX_LOCK_WAIT_TIMEOUT = 1073741824

# Past 2**63 - 1 the new value is NULL, which the NOT NULL column refuses
# (error 1048 in strict mode, Django's default and the server's since 10.2.4).
ADVANCE = "IF(last <= %s, last + %s, NULL)"
# The same for one value, the common call: two parameters instead of four.
ADVANCE_ONE = f"IF(last < {MAX_VALUE:d}, last + 1, NULL)"

# reset_value: at or above reset_value - batch_size, start again.
ADVANCE_OR_RESET = "IF(last >= %s, %s, last + %s)"

UPSERT = (
    "{nowait}INSERT INTO {table} (name, last) VALUES (%s, LAST_INSERT_ID(%s)) "
    "ON DUPLICATE KEY UPDATE last = LAST_INSERT_ID({advance})"
)

# get_next_value_many (MariaDB only: MySQL has no RETURNING): one row per
# name, in the order given (sorted), which is the order InnoDB locks them in.
MANY = (
    "{limited}INSERT INTO {table} (name, last) VALUES {rows} "
    "ON DUPLICATE KEY UPDATE last = IF(last < %s, last + 1, NULL) "
    "RETURNING last"
)

LOCK_WAIT_TIMEOUT = 1205
BAD_NULL = 1048


def lock_wait_timeout(seconds: float) -> int:
    """``innodb_lock_wait_timeout`` for a wait of ``seconds``: whole seconds, rounded up."""
    return min(math.ceil(seconds), MAX_LOCK_WAIT_TIMEOUT)


#: The advance of each kind of draw, by index: one value, a batch, reset_value.
ADVANCES = (ADVANCE_ONE, ADVANCE, ADVANCE_OR_RESET)


def upsert_sql(table: str, kind: int, limited: bool) -> str:
    """The draw statement; ``limited`` takes the lock wait limit as its first parameter."""
    return UPSERT.format(nowait=LIMITED if limited else "", table=table, advance=ADVANCES[kind])


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
        params = [sequence_name, created_last, MAX_VALUE - batch_size, batch_size]
        index = 1
    if timeout is not None:
        if not getattr(connection, "mysql_is_mariadb", False):
            # MySQL has no SET STATEMENT: take the portable path, which uses
            # SELECT ... FOR UPDATE NOWAIT (retried until the timeout runs out).
            from . import generic

            return generic.draw(
                connection, sequence_name, created_last, batch_size, reset_threshold, timeout
            )
        params.insert(0, lock_wait_timeout(timeout))
        index += 3
    try:
        sql = connection.__dict__[STATEMENTS][index]
    except KeyError:
        sql = cache_statements(connection, upsert_sql)[index]
    started = monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return int(cursor.lastrowid)
    except OperationalError as exc:
        if _errno(exc) == LOCK_WAIT_TIMEOUT:  # timeout, or innodb_lock_wait_timeout
            raise locked(sequence_name, connection.alias, started, timeout) from exc
        raise
    except IntegrityError as exc:
        if _errno(exc) == BAD_NULL:
            return None
        raise


@lru_cache(maxsize=64)
def many_sql(table: str, count: int, *, limited: bool) -> str:
    return MANY.format(
        limited=LIMITED if limited else "",
        table=table,
        rows=", ".join(["(%s, %s)"] * count),
    )


def draw_many(connection: BaseDatabaseWrapper, request: ManyRequest) -> dict[str, int]:
    timeout = request.timeout
    names = request.sequence_names
    sql = many_sql(table_name(connection), len(names), limited=timeout is not None)
    params: list[Any] = []
    if timeout is not None:
        params.append(lock_wait_timeout(timeout))
    for name in names:
        params += [name, request.initial_value]
    params.append(MAX_VALUE)
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    except OperationalError as exc:
        if _errno(exc) == LOCK_WAIT_TIMEOUT:
            raise request.locked(started) from exc
        raise
    except IntegrityError as exc:
        if _errno(exc) == BAD_NULL:
            raise SequenceOverflow(", ".join(names), request.using) from exc
        raise
    # RETURNING gives the rows in the order of VALUES; the names are matched
    # by position, since a case-insensitive column may store another spelling.
    if len(rows) != len(names):
        raise RuntimeError(f"expected {len(names)} rows from the draw, got {len(rows)}")
    return {name: int(row[0]) for name, row in zip(names, rows, strict=True)}


def _errno(exc: BaseException) -> int | None:
    args = getattr(exc.__cause__, "args", ())
    return args[0] if args and isinstance(args[0], int) else None
