"""The public API: gap-less sequences that live in the caller's transaction.

Models are imported inside functions so that ``from sequences import
get_next_value`` works before ``django.setup()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django.db import connections, router, transaction

from .backends import DrawRequest, get_draw_function
from .changes import change_sequence, locked_last, record_change
from .exceptions import SequenceOverflow
from .replication import record_draw
from .validation import check_arguments, check_int, check_name

if TYPE_CHECKING:
    from .models import SequenceChange


def _write_alias(using: str | None) -> str:
    if using is not None:
        return using
    from .models import Sequence

    return router.db_for_write(Sequence)


def get_next_values(
    batch_size: int = 1,
    sequence_name: str = "default",
    initial_value: int = 1,
    reset_value: int | None = None,
    *,
    nowait: bool = False,
    using: str | None = None,
) -> range:
    """Take ``batch_size`` consecutive values of a sequence in one statement.

    The values belong to the current transaction: they are consumed if it
    commits and handed out again if it rolls back. Until then, other
    transactions that use the same sequence wait (or, with ``nowait=True``,
    raise :class:`~sequences.SequenceLocked`).
    """
    check_arguments(sequence_name, initial_value, reset_value, batch_size)
    if batch_size == 0:
        return range(0)
    alias = _write_alias(using)
    connection = connections[alias]
    request = DrawRequest(
        sequence_name=sequence_name,
        using=alias,
        created_last=initial_value + batch_size - 1,
        batch_size=batch_size,
        reset_threshold=None if reset_value is None else reset_value - batch_size,
        nowait=nowait,
    )
    last = get_draw_function(connection)(connection, request)
    if last is None:
        raise SequenceOverflow(sequence_name, alias)
    values = range(last - batch_size + 1, last + 1)
    record_draw(connection, sequence_name, values)  # for sequences.signals.commit_not_replicated
    return values


def get_next_value(
    sequence_name: str = "default",
    initial_value: int = 1,
    reset_value: int | None = None,
    *,
    nowait: bool = False,
    using: str | None = None,
) -> int:
    """Return the next value of a sequence, creating it at ``initial_value``.

    **Take the value and save the row that uses it in the same transaction**:
    the value is consumed only if that transaction commits.
    ``reset_value`` is an exclusive upper bound: when the next value would
    reach it, the sequence starts again at ``initial_value``.
    """
    return get_next_values(
        1, sequence_name, initial_value, reset_value, nowait=nowait, using=using
    )[0]


def get_last_value(sequence_name: str = "default", *, using: str | None = None) -> int | None:
    """Return the last value handed out, or ``None`` if the sequence does not exist.

    Reads do not lock: the value may move as soon as it is returned. Without
    ``using``, reads from the router's read database, as django-sequences does.
    """
    from .models import Sequence

    check_name(sequence_name)
    alias = using if using is not None else router.db_for_read(Sequence)
    return (
        Sequence.objects.using(alias)
        .filter(name=sequence_name)
        .values_list("last", flat=True)
        .first()
    )


def delete(sequence_name: str = "default", *, using: str | None = None) -> bool:
    """Delete a sequence; return whether it existed.

    The deletion is recorded in the audit trail (:class:`SequenceChange`) in
    the same transaction. The next ``get_next_value`` starts it again at its
    ``initial_value``.
    """
    from .models import Sequence, SequenceChange

    check_name(sequence_name)
    alias = _write_alias(using)
    with transaction.atomic(using=alias):
        last = locked_last_value(sequence_name, using=alias)
        if last is None:
            return False
        Sequence.objects.using(alias).filter(name=sequence_name).delete()
        record_change(
            SequenceChange,
            sequence_name,
            using=alias,
            action=SequenceChange.Action.DELETE,
            source=SequenceChange.Source.CODE,
            last_before=last,
            last_after=None,
        )
    return True


def reset_sequence(
    sequence_name: str,
    next_value: int,
    *,
    expected_last: int | None,
    reason: str,
    allow_reuse: bool = False,
    user: Any = None,
    username: str | None = None,
    source: str = "code",
    action: str = "reset",
    using: str | None = None,
) -> SequenceChange:
    """Set a sequence so that its next value is ``next_value``, and audit it.

    The one way to change a sequence by hand; the admin and the management
    commands call it. It locks the row as ``get_next_value`` does, refuses
    with :class:`~sequences.SequenceValueChanged` when ``last`` is not
    ``expected_last`` any more (``None``: the sequence must not exist), refuses
    to move the sequence back (which would hand out values again) unless
    ``allow_reuse=True``, and writes the new value and a
    :class:`~sequences.models.SequenceChange` in one transaction on ``using``.
    """
    from .models import Sequence, SequenceChange

    check_name(sequence_name)
    check_int(next_value, "next_value", minimum=1)
    if expected_last is not None:
        check_int(expected_last, "expected_last", minimum=0)
    if not isinstance(reason, str):
        raise TypeError(f"reason must be a str, got {type(reason).__name__}")
    if action == SequenceChange.Action.RESET and not reason.strip():
        raise ValueError("reason is required for a reset: say why the sequence changes")
    # delete() and sequence_collation write their own records; a reset is none of them.
    not_a_reset = {SequenceChange.Action.DELETE, SequenceChange.Action.COLLATION}
    if action not in SequenceChange.Action.values or action in not_a_reset:
        raise ValueError(f"action must be one of 'init', 'reset', 'seed', got {action!r}")
    if source not in SequenceChange.Source.values:
        raise ValueError(
            f"source must be one of {', '.join(SequenceChange.Source.values)}, got {source!r}"
        )
    change: SequenceChange = change_sequence(
        Sequence,
        SequenceChange,
        sequence_name,
        next_value - 1,
        expected_last=expected_last,
        allow_reuse=allow_reuse,
        using=_write_alias(using),
        record={
            "action": action,
            "source": source,
            "reason": reason,
            "user": user,
            "username": username,
        },
    )
    return change


def locked_last_value(sequence_name: str, *, using: str) -> int | None:
    """Lock the sequence's row as ``get_next_value`` does and return its last value.

    ``None`` if it does not exist (then nothing is locked). Call it inside a
    transaction on ``using``: the lock lasts until that transaction ends.
    """
    from .models import Sequence

    last: int | None = locked_last(Sequence, sequence_name, using=using)
    return last


class Sequence:
    """A named sequence with its options bound; an infinite iterator of values.

    ``iter(seq)`` is ``seq`` and ``next(seq)`` draws the next value, under the
    same transaction rules as :func:`get_next_value`.
    """

    def __init__(
        self,
        sequence_name: str = "default",
        initial_value: int = 1,
        reset_value: int | None = None,
        *,
        using: str | None = None,
    ) -> None:
        check_arguments(sequence_name, initial_value, reset_value)
        self.sequence_name = sequence_name
        self.initial_value = initial_value
        self.reset_value = reset_value
        self.using = using

    def __repr__(self) -> str:
        return (
            f"Sequence({self.sequence_name!r}, initial_value={self.initial_value!r}, "
            f"reset_value={self.reset_value!r}, using={self.using!r})"
        )

    def get_last_value(self) -> int | None:
        return get_last_value(self.sequence_name, using=self.using)

    def get_next_value(self, *, nowait: bool = False) -> int:
        return get_next_value(
            self.sequence_name,
            self.initial_value,
            self.reset_value,
            nowait=nowait,
            using=self.using,
        )

    def get_next_values(self, batch_size: int = 1, *, nowait: bool = False) -> range:
        return get_next_values(
            batch_size,
            self.sequence_name,
            self.initial_value,
            self.reset_value,
            nowait=nowait,
            using=self.using,
        )

    def delete(self) -> bool:
        return delete(self.sequence_name, using=self.using)

    def __iter__(self) -> Iterator[int]:
        return self

    def __next__(self) -> int:
        return self.get_next_value()
