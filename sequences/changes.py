"""The core of every audited change: lock, compare, refuse to reuse, write, record.

These functions take the model classes as arguments, so that the live API
(:func:`sequences.reset_sequence`, :func:`sequences.delete`) passes the
models of ``sequences.models`` and a migration operation passes the
historical models of its migration state. Migrations must never write
through today's models: a later migration of ``sequences`` that changes a
table would break every migration that ran before it on a fresh database.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import DatabaseError, connections, models, transaction

from .exceptions import SequenceLocked, SequenceValueChanged


def describe_span(first: int, last: int) -> str:
    """``"7"`` or ``"7 to 42"``: the values from ``first`` to ``last`` inclusive."""
    return str(first) if first == last else f"{first} to {last}"


def locked_last(
    sequence_model: type[models.Model],
    sequence_name: str,
    *,
    using: str,
    timeout: float | None = None,
) -> Any:
    """Lock the row as ``get_next_value`` does; its ``last``, or ``None`` if it does not exist.

    Call it inside a transaction on ``using``: the lock lasts until that
    transaction ends. Nothing is locked when the row does not exist. A lock
    wait that gives up (``timeout=0``: at once; otherwise as the caller's
    ``bounded_atomic`` set it) raises :class:`~sequences.SequenceLocked`.
    """
    connection = connections[using]
    with lock_errors_raise_locked(sequence_name, using, timeout):
        return (
            sequence_model._base_manager.using(using)
            .select_for_update(nowait=timeout == 0 and connection.vendor != "sqlite")
            .filter(name=sequence_name)
            .values_list("last", flat=True)
            .first()
        )


@contextmanager
def lock_errors_raise_locked(
    sequence_name: str, using: str, timeout: float | None
) -> Iterator[None]:
    """Raise :class:`~sequences.SequenceLocked` for a lock wait given up on inside the block."""
    from .backends.generic import _is_lock_error

    connection = connections[using]
    started = time.monotonic()
    try:
        yield
    except SequenceLocked:
        raise
    except DatabaseError as exc:
        if _is_lock_error(connection, exc) or "database is locked" in str(exc):
            raise SequenceLocked(
                sequence_name, using, waited=time.monotonic() - started, timeout=timeout
            ) from exc
        raise


def change_sequence(
    sequence_model: type[models.Model],
    change_model: type[models.Model],
    sequence_name: str,
    new_last: int,
    *,
    expected_last: int | None,
    allow_reuse: bool,
    using: str,
    record: dict[str, Any],
    timeout: float | None = None,
) -> Any:
    """Set ``last`` to ``new_last`` if it is still ``expected_last``, and record it.

    In one transaction on ``using``: locks the row, raises
    :class:`~sequences.SequenceValueChanged` if ``last`` is not
    ``expected_last`` (``None``: the row must not exist), raises
    ``ValueError`` if the change moves the sequence back (values would be
    issued again) without ``allow_reuse``, then writes the row and a change
    record built from ``record`` (plus the before/after values). Arguments
    are the caller's to validate.
    """
    rows = sequence_model._base_manager.using(using)
    with transaction.atomic(using=using):
        current_last = locked_last(sequence_model, sequence_name, using=using, timeout=timeout)
        if current_last != expected_last:
            raise SequenceValueChanged(sequence_name, expected_last, current_last)
        moves_back = current_last is not None and new_last < current_last
        if moves_back and not allow_reuse:
            raise ValueError(
                f"Moving sequence {sequence_name!r} back to {new_last + 1} would issue "
                f"{describe_span(new_last + 1, current_last)} again; pass allow_reuse=True "
                "if that is really meant."
            )
        if current_last is None:
            # A concurrent creator makes this fail with IntegrityError (and
            # roll back): the caller's expectation no longer holds either way.
            rows.create(name=sequence_name, last=new_last)
        else:
            rows.filter(name=sequence_name).update(last=new_last)
        return record_change(
            change_model,
            sequence_name,
            using=using,
            last_before=current_last,
            last_after=new_last,
            allow_reuse=moves_back,
            **record,
        )


def record_change(
    change_model: type[models.Model],
    sequence_name: str,
    *,
    using: str,
    action: str,
    source: str,
    last_before: int | None,
    last_after: int | None,
    allow_reuse: bool = False,
    reason: str = "",
    user: Any = None,
    username: str | None = None,
) -> Any:
    """Write one audit record on ``using`` (in the caller's transaction).

    Only the fields of ``SequenceChange`` as migration ``0003_sequencechange``
    created them are written: a later migration that adds a field must give
    it a default, or historical states before it could not write records.
    """
    if username is None:
        username = user.get_username() if user is not None else ""
    return change_model._base_manager.using(using).create(
        sequence_name=sequence_name,
        database=using,
        action=action,
        last_before=last_before,
        last_after=last_after,
        allow_reuse=allow_reuse,
        reason=reason,
        source=source,
        user_id=None if user is None or user.pk is None else str(user.pk),
        username=username,
    )
