"""Any other backend (Oracle, third-party ones): the ORM with ``select_for_update``.

Correct everywhere Django's ``select_for_update`` is, at the price of two or
three queries per call. Unlike the published django-sequences, it honours
``using``. Its one weakness is ``nowait`` on the very first call: the row does
not exist yet, so there is nothing to lock and a concurrent creator makes this
call wait for the unique index instead of raising.

``timeout`` is best effort: Django has no portable lock wait limit, so the
call tries ``SELECT ... FOR UPDATE NOWAIT`` in a savepoint, and tries again
after a short sleep until ``timeout`` seconds have passed. It gives up within
about one sleep (at most :data:`MAX_RETRY_DELAY`) of the timeout, but it is
not fair: a waiter that polls can be overtaken by one that queues.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, NamedTuple

from django.db import DatabaseError, transaction

from ..exceptions import SequenceLocked
from ..validation import MAX_VALUE
from . import locked

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

#: The first and the longest pause between two tries of a bounded wait.
FIRST_RETRY_DELAY = 0.005
MAX_RETRY_DELAY = 0.1


def draw(
    connection: BaseDatabaseWrapper,
    sequence_name: str,
    created_last: int,
    batch_size: int,
    reset_threshold: int | None,
    timeout: float | None,
) -> int | None:
    request = _Request(sequence_name, connection.alias, created_last, batch_size, reset_threshold)
    started = time.monotonic()
    if timeout is None or timeout == 0:
        return _draw_once(connection, request, timeout=timeout, started=started)
    deadline = started + timeout
    delay = FIRST_RETRY_DELAY
    while True:
        try:
            # The savepoint keeps the caller's transaction usable after a
            # refused try (PostgreSQL aborts it otherwise).
            with transaction.atomic(using=request.using):
                return _draw_once(connection, request, timeout=timeout, started=started)
        except SequenceLocked:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise locked(sequence_name, request.using, started, timeout) from None
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, MAX_RETRY_DELAY)


class _Request(NamedTuple):
    sequence_name: str
    using: str
    created_last: int
    batch_size: int
    reset_threshold: int | None


def _draw_once(
    connection: BaseDatabaseWrapper, request: _Request, *, timeout: float | None, started: float
) -> int | None:
    """One try; ``timeout`` not ``None``: ``SELECT ... FOR UPDATE NOWAIT``."""
    from ..models import Sequence

    with transaction.atomic(using=request.using, savepoint=False):
        rows = Sequence.objects.using(request.using).select_for_update(nowait=timeout is not None)
        try:
            sequence, created = rows.get_or_create(
                name=request.sequence_name, defaults={"last": request.created_last}
            )
        except DatabaseError as exc:
            if _is_lock_error(connection, exc):
                raise locked(request.sequence_name, request.using, started, timeout) from exc
            raise
        if created:
            return request.created_last
        if request.reset_threshold is not None and sequence.last >= request.reset_threshold:
            sequence.last = request.created_last
        elif sequence.last > MAX_VALUE - request.batch_size:
            return None
        else:
            sequence.last += request.batch_size
        sequence.save(update_fields=["last"], using=request.using)
        return sequence.last


def _is_lock_error(connection: BaseDatabaseWrapper, exc: DatabaseError) -> bool:
    cause = exc.__cause__
    code = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    if code == "55P03":  # PostgreSQL lock_not_available
        return True
    args = getattr(cause, "args", ())
    if args and args[0] in (1205, 3572):  # MySQL lock wait timeout, NOWAIT
        return True
    return "ORA-00054" in str(exc)  # Oracle resource busy
