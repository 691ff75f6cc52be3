"""PostgreSQL: one ``INSERT ... ON CONFLICT ... DO UPDATE ... RETURNING`` per call.

Every path (plain, ``reset_value``, ``nowait``, batches) is a single statement,
so a call costs one round trip inside the caller's transaction.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from django.db import OperationalError

from ..exceptions import SequenceLocked
from . import table_name

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

    from . import DrawRequest

# nowait: lower lock_timeout to its minimum (1 ms) for this statement only. The
# CTE runs before the insert takes any lock, and RETURNING puts the caller's
# setting back. A lock timeout catches both waits that NOWAIT cannot: on a row
# that another transaction updates, and on a row that another transaction is
# still inserting (the first call of a sequence).
NOWAIT = (
    "WITH nowait AS (SELECT current_setting('lock_timeout') AS saved, "
    "set_config('lock_timeout', '1ms', true)) "
)
NOWAIT_VALUES = "SELECT %s, %s FROM nowait"
NOWAIT_RESTORE = ", (SELECT set_config('lock_timeout', saved, true) FROM nowait)"

# Advance by batch_size while that stays <= 2**63 - 1; past that, no row comes
# back and the caller raises SequenceOverflow.
ADVANCE = "seq.last + %s WHERE seq.last <= %s"

# reset_value: at or above reset_value - batch_size, start again.
ADVANCE_OR_RESET = "CASE WHEN seq.last >= %s THEN %s ELSE seq.last + %s END"

UPSERT = (
    "{nowait}INSERT INTO {table} AS seq (name, last) {values} "
    "ON CONFLICT (name) DO UPDATE SET last = {advance} "
    "RETURNING last{restore}"
)

LOCK_NOT_AVAILABLE = "55P03"


@lru_cache(maxsize=64)
def upsert_sql(table: str, *, reset: bool, nowait: bool) -> str:
    return UPSERT.format(
        nowait=NOWAIT if nowait else "",
        table=table,
        values=NOWAIT_VALUES if nowait else "VALUES (%s, %s)",
        advance=ADVANCE_OR_RESET if reset else ADVANCE,
        restore=NOWAIT_RESTORE if nowait else "",
    )


def upsert_params(request: DrawRequest) -> list[int | str]:
    """Parameters for :func:`upsert_sql`, shared with the SQLite backend."""
    if request.reset_threshold is None:
        return [
            request.sequence_name,
            request.created_last,
            request.batch_size,
            request.overflow_threshold,
        ]
    return [
        request.sequence_name,
        request.created_last,
        request.reset_threshold,
        request.created_last,
        request.batch_size,
    ]


def draw(connection: BaseDatabaseWrapper, request: DrawRequest) -> int | None:
    sql = upsert_sql(
        table_name(connection),
        reset=request.reset_threshold is not None,
        nowait=request.nowait,
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, upsert_params(request))
            row = cursor.fetchone()
    except OperationalError as exc:
        if _sqlstate(exc) == LOCK_NOT_AVAILABLE:  # nowait, or the caller's lock_timeout
            raise SequenceLocked(request.sequence_name, request.using) from exc
        raise
    return None if row is None else int(row[0])


def _sqlstate(exc: BaseException) -> str | None:
    cause = exc.__cause__
    # psycopg 3 names it sqlstate, psycopg2 pgcode.
    return getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
