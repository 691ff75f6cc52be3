"""MariaDB and MySQL: one ``INSERT ... ON DUPLICATE KEY UPDATE`` per call.

``LAST_INSERT_ID(expr)`` makes the server send the new value back in the OK
packet of the insert itself (the driver's ``lastrowid``), so there is no
``SELECT`` afterwards: one round trip, on MariaDB and MySQL alike. MariaDB's
``INSERT ... RETURNING`` would do too, but MySQL lacks it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from django.db import IntegrityError, OperationalError

from ..exceptions import SequenceLocked
from . import table_name

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

    from . import DrawRequest

# MariaDB's SET STATEMENT changes a variable for one statement only; with
# innodb_lock_wait_timeout = 0, any lock wait (on an existing row, or on a row
# another transaction is still inserting) fails at once with error 1205.
NOWAIT = "SET STATEMENT innodb_lock_wait_timeout = 0 FOR "

# Past 2**63 - 1 the new value is NULL, which the NOT NULL column refuses
# (error 1048 in strict mode, Django's default and the server's since 10.2.4).
ADVANCE = "IF(last <= %s, last + %s, NULL)"

# reset_value: at or above reset_value - batch_size, start again.
ADVANCE_OR_RESET = "IF(last >= %s, %s, last + %s)"

UPSERT = (
    "{nowait}INSERT INTO {table} (name, last) VALUES (%s, LAST_INSERT_ID(%s)) "
    "ON DUPLICATE KEY UPDATE last = LAST_INSERT_ID({advance})"
)

LOCK_WAIT_TIMEOUT = 1205
BAD_NULL = 1048


@lru_cache(maxsize=64)
def upsert_sql(table: str, *, reset: bool, nowait: bool) -> str:
    return UPSERT.format(
        nowait=NOWAIT if nowait else "",
        table=table,
        advance=ADVANCE_OR_RESET if reset else ADVANCE,
    )


def draw(connection: BaseDatabaseWrapper, request: DrawRequest) -> int | None:
    if request.nowait and not getattr(connection, "mysql_is_mariadb", False):
        # MySQL has no per-statement lock timeout: take the portable path.
        from . import generic

        return generic.draw(connection, request)

    if request.reset_threshold is None:
        params: list[int | str] = [
            request.sequence_name,
            request.created_last,
            request.overflow_threshold,
            request.batch_size,
        ]
    else:
        params = [
            request.sequence_name,
            request.created_last,
            request.reset_threshold,
            request.created_last,
            request.batch_size,
        ]
    sql = upsert_sql(
        table_name(connection),
        reset=request.reset_threshold is not None,
        nowait=request.nowait,
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return int(cursor.lastrowid)
    except OperationalError as exc:
        if _errno(exc) == LOCK_WAIT_TIMEOUT:  # nowait, or innodb_lock_wait_timeout
            raise SequenceLocked(request.sequence_name, request.using) from exc
        raise
    except IntegrityError as exc:
        if _errno(exc) == BAD_NULL:
            return None
        raise


def _errno(exc: BaseException) -> int | None:
    args = getattr(exc.__cause__, "args", ())
    return args[0] if args and isinstance(args[0], int) else None
