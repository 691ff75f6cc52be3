"""SQLite: the same single upsert as PostgreSQL (``RETURNING`` needs SQLite 3.35).

SQLite locks the whole database for writing, so there is no row lock to wait
for: a writer waits for the database lock for up to the connection's
``timeout`` (Django's ``OPTIONS["timeout"]``, 5 seconds by default). With
``nowait=True`` the busy timeout drops to zero for the one statement, so a
locked database raises :class:`~sequences.SequenceLocked` at once.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from django.db import OperationalError

from ..exceptions import SequenceLocked
from . import table_name
from .postgresql import upsert_params, upsert_sql

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.backends.utils import CursorWrapper

    from . import DrawRequest


def supports_returning(connection: BaseDatabaseWrapper) -> bool:
    return sqlite3.sqlite_version_info >= (3, 35, 0)


def draw(connection: BaseDatabaseWrapper, request: DrawRequest) -> int | None:
    sql = upsert_sql(
        table_name(connection),
        reset=request.reset_threshold is not None,
    )
    params = upsert_params(request)
    with connection.cursor() as cursor:
        try:
            if request.nowait:
                row = _execute_without_waiting(cursor, sql, params)
            else:
                cursor.execute(sql, params)
                row = cursor.fetchone()
        except OperationalError as exc:
            # "database is locked": the busy timeout ran out, or (at once) a
            # transaction that has read tried to start writing while another
            # one writes. See the README on transaction_mode = "IMMEDIATE".
            if "database is locked" in str(exc):
                raise SequenceLocked(request.sequence_name, request.using) from exc
            raise
    return None if row is None else int(row[0])


def _execute_without_waiting(
    cursor: CursorWrapper, sql: str, params: list[int | str]
) -> tuple[int] | None:
    # PRAGMAs run in process: no round trip, no statement sent to a server.
    saved = int(cursor.execute("PRAGMA busy_timeout").fetchone()[0])
    cursor.execute("PRAGMA busy_timeout = 0")
    try:
        cursor.execute(sql, params)
        row: tuple[int] | None = cursor.fetchone()
        return row
    finally:
        cursor.execute(f"PRAGMA busy_timeout = {saved}")
