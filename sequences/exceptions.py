"""Exceptions raised by django-sequences.

Both database-level exceptions subclass Django's own, so code that already
catches ``DatabaseError`` (or ``OperationalError``) keeps working.
"""

from __future__ import annotations

from django.db import DataError, OperationalError
from django.db.transaction import TransactionManagementError


class SequenceLocked(OperationalError):
    """Another transaction holds the sequence and this call could not wait for it.

    Raised at once with ``nowait=True``, after ``timeout`` seconds (or
    ``SEQUENCES_LOCK_TIMEOUT``), or when the database's own lock wait gives up
    (PostgreSQL ``lock_timeout``, InnoDB ``innodb_lock_wait_timeout``,
    SQLite's busy timeout or its refusal to upgrade a read transaction). The
    other transaction is using the sequence (or creating it) and has not
    committed or rolled back yet. Nothing was consumed. On PostgreSQL the
    current transaction is aborted, as after any database error: roll it back
    (or the savepoint of an ``atomic()`` block around the call), then retry.
    ``waited`` is how long the call waited, in seconds; ``timeout`` the limit
    it was given (``0.0`` for ``nowait``, ``None`` for the database's own).
    """

    def __init__(
        self,
        sequence_name: str,
        using: str,
        *,
        waited: float | None = None,
        timeout: float | None = None,
    ) -> None:
        self.sequence_name = sequence_name
        self.using = using
        self.waited = waited
        self.timeout = timeout
        if timeout == 0:
            limit = "nowait=True: it did not wait"
        elif timeout is not None:
            limit = f"it gave up after waiting {_seconds(waited)} (timeout={timeout:g} s)"
        elif waited is not None:
            limit = (
                f"it gave up after waiting {_seconds(waited)} (the database's own lock wait limit)"
            )
        else:
            limit = "it could not wait"
        super().__init__(
            f"Sequence {sequence_name!r} on database {using!r} is locked by "
            f"another transaction that has not committed or rolled back yet; {limit}. "
            "Roll back this transaction and retry, or pass a longer timeout."
        )


class OutsideTransaction(TransactionManagementError):
    """A draw outside any transaction, refused because ``SEQUENCES_REQUIRE_TRANSACTION`` is on.

    :func:`~sequences.assign_next_value` and ``NumberSeries.assign`` raise it
    outside ``transaction.atomic()`` whatever the setting (``reason`` says so).

    Outside a transaction a value is committed, and so consumed, the moment
    it is drawn: if saving the row that uses it then fails, the number is
    lost. Raised before any SQL.
    """

    def __init__(self, using: str, *, reason: str | None = None) -> None:
        self.using = using
        alternative = ""
        if reason is None:
            reason = (
                f"A sequence value was drawn on database {using!r} outside a transaction, "
                "and SEQUENCES_REQUIRE_TRANSACTION is on."
            )
            alternative = " (or turn autocommit off)"
        super().__init__(
            f"{reason} Rule: take the value and save the "
            "row that uses it in the same transaction. Fix: wrap both in "
            f"transaction.atomic(using={using!r}){alternative}."
        )


class SequenceOverflow(DataError):
    """The next value would pass 2**63 - 1, the largest value every backend stores."""

    def __init__(self, sequence_name: str, using: str) -> None:
        self.sequence_name = sequence_name
        self.using = using
        super().__init__(
            f"Sequence {sequence_name!r} on database {using!r} cannot go past "
            "9223372036854775807 (2**63 - 1). Use reset_value to make it wrap "
            "around, or start a new sequence."
        )


class SequenceValueChanged(ValueError):
    """A compare-and-set change found another value than the caller expected.

    Raised by :func:`sequences.reset_sequence` when the sequence moved (or was
    created or deleted) between the moment the caller read it and the change.
    Nothing was written.
    """

    def __init__(
        self, sequence_name: str, expected_last: int | None, actual_last: int | None
    ) -> None:
        self.sequence_name = sequence_name
        self.expected_last = expected_last
        self.actual_last = actual_last
        super().__init__(
            f"Sequence {sequence_name!r} changed since it was read: expected last "
            f"value {_describe(expected_last)}, found {_describe(actual_last)}. "
            "Read it again and retry; nothing was changed."
        )


def _seconds(waited: float | None) -> str:
    return "an unknown time" if waited is None else f"{waited:.2f} s"


def _describe(last: int | None) -> str:
    return "(sequence does not exist)" if last is None else str(last)
