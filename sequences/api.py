"""The public API: gap-less sequences that live in the caller's transaction.

Models are imported inside functions so that ``from sequences import
get_next_value`` works before ``django.setup()``.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from django.db import DEFAULT_DB_ALIAS, connections, router, transaction

from . import conf
from .backends import ManyRequest, get_draw_function, get_draw_many_function
from .changes import change_sequence, lock_errors_raise_locked, locked_last, record_change
from .exceptions import OutsideTransaction, SequenceOverflow
from .replication import record_draw
from .validation import MAX_VALUE, check_arguments, check_int, check_name, check_timeout

if TYPE_CHECKING:
    from .models import Sequence as SequenceModel
    from .models import SequenceChange


@functools.cache
def _sequence_model() -> type[SequenceModel]:
    # An import statement in a function costs about a microsecond on every
    # call, even of a module already imported: more than the router's answer.
    from .models import Sequence

    return Sequence


def _write_alias(using: str | None) -> str:
    if using is not None:
        return using
    if not router.routers:
        # What the router answers without routers (and no instance hint),
        # without its two calls on every draw.
        return DEFAULT_DB_ALIAS
    return router.db_for_write(_sequence_model())


def wait_limit(nowait: bool, timeout: float | None) -> float | None:
    """The lock wait limit of a call, in seconds: ``None`` waits as the database does.

    ``timeout=None`` takes ``SEQUENCES_LOCK_TIMEOUT``; ``math.inf`` sets no
    limit whatever that default; ``nowait=True`` is ``timeout=0``.
    """
    if timeout is None:
        return 0.0 if nowait else conf.lock_timeout()
    if nowait:
        raise ValueError(
            "Pass nowait=True or timeout, not both: nowait=True means timeout=0, got "
            f"timeout={timeout!r}"
        )
    seconds = check_timeout(timeout)
    return None if seconds == math.inf else seconds


def check_in_transaction(connection: Any, alias: str) -> None:
    """Raise :class:`OutsideTransaction` if strict mode is on and ``alias`` is in autocommit."""
    if not conf.require_transaction() or connection.in_atomic_block:
        return
    if connection.connection is None:
        # Not connected yet: it will open in the mode its settings say.
        autocommit = connection.settings_dict.get("AUTOCOMMIT", True)
    else:
        autocommit = connection.autocommit
    if autocommit:
        raise OutsideTransaction(alias)


# Names that passed check_name: a draw with one of them skips the character
# checks (a str never changes). Bounded, so that a caller drawing from
# millions of names does not grow it without limit: when full it is emptied
# and fills again with the names in use now (a per-day series moves on to
# new names for good). Only a name not in it is checked, so this runs on the
# slow path alone.
_checked_names: set[str] = set()
MAX_CHECKED_NAMES = 4096


def _remember(sequence_name: str) -> None:
    if type(sequence_name) is str:
        if len(_checked_names) >= MAX_CHECKED_NAMES:
            _checked_names.clear()
        _checked_names.add(sequence_name)


def get_next_values(
    batch_size: int = 1,
    sequence_name: str = "default",
    initial_value: int = 1,
    reset_value: int | None = None,
    *,
    nowait: bool = False,
    timeout: float | None = None,
    using: str | None = None,
) -> range:
    """Take ``batch_size`` consecutive values of a sequence in one statement.

    The values belong to the current transaction: they are consumed if it
    commits and handed out again if it rolls back. Until then, other
    transactions that use the same sequence wait: at most ``timeout`` seconds
    (default ``SEQUENCES_LOCK_TIMEOUT``; ``math.inf``: no limit), not at all
    with ``nowait=True``; then :class:`~sequences.SequenceLocked` is raised
    and nothing is consumed.
    """
    # The common arguments (a name seen before, exact ints in range) are
    # checked here inline; anything else goes through check_arguments, which
    # accepts it or raises the error that says what is wrong.
    if (
        type(sequence_name) is not str
        or sequence_name not in _checked_names
        or type(initial_value) is not int
        or type(batch_size) is not int
        or not 0 <= initial_value <= MAX_VALUE
        or not 1 <= batch_size <= MAX_VALUE
        or (
            initial_value + batch_size - 1 > MAX_VALUE
            if reset_value is None
            else type(reset_value) is not int
            or not initial_value < reset_value <= MAX_VALUE
            or batch_size > reset_value - initial_value
        )
    ):
        check_arguments(sequence_name, initial_value, reset_value, batch_size)
        _remember(sequence_name)
    # The common case (no timeout given) without a function call of its own.
    limit = (
        (0.0 if nowait else conf.lock_timeout())
        if timeout is None
        else wait_limit(nowait, timeout)
    )
    if batch_size == 0:
        return range(0)
    alias = using if using is not None else _write_alias(None)
    connection = connections[alias]
    if conf.require_transaction():
        check_in_transaction(connection, alias)
    last = get_draw_function(connection)(
        connection,
        sequence_name,
        initial_value + batch_size - 1,
        batch_size,
        None if reset_value is None else reset_value - batch_size,
        limit,
    )
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
    timeout: float | None = None,
    using: str | None = None,
) -> int:
    """Return the next value of a sequence, creating it at ``initial_value``.

    **Take the value and save the row that uses it in the same transaction**:
    the value is consumed only if that transaction commits.
    ``reset_value`` is an exclusive upper bound: when the next value would
    reach it, the sequence starts again at ``initial_value``. ``nowait`` and
    ``timeout`` bound the wait for a concurrent transaction as in
    :func:`get_next_values`.
    """
    # get_next_values with batch_size=1, written out: this is the call most
    # users make, and a layer less is measurably cheaper (benchmarks.overhead).
    if (
        type(sequence_name) is not str
        or sequence_name not in _checked_names
        or type(initial_value) is not int
        or not 0 <= initial_value <= MAX_VALUE
        or (
            reset_value is not None
            and (type(reset_value) is not int or not initial_value < reset_value <= MAX_VALUE)
        )
    ):
        check_arguments(sequence_name, initial_value, reset_value)
        _remember(sequence_name)
    limit = (
        (0.0 if nowait else conf.lock_timeout())
        if timeout is None
        else wait_limit(nowait, timeout)
    )
    alias = using if using is not None else _write_alias(None)
    connection = connections[alias]
    if conf.require_transaction():
        check_in_transaction(connection, alias)
    last = get_draw_function(connection)(
        connection,
        sequence_name,
        initial_value,
        1,
        None if reset_value is None else reset_value - 1,
        limit,
    )
    if last is None:
        raise SequenceOverflow(sequence_name, alias)
    record_draw(connection, sequence_name, range(last, last + 1))
    return last


def get_next_value_many(
    sequence_names: Iterable[str],
    initial_value: int = 1,
    *,
    nowait: bool = False,
    timeout: float | None = None,
    using: str | None = None,
) -> dict[str, int]:
    """Take the next value of each named sequence, locking them in sorted-name order.

    Each name must appear once. The values belong to the current transaction,
    as with :func:`get_next_value`: rolling it back gives every one of them
    back, and a failure (a lock that could not be had, an overflow) consumes
    none. Two callers that take overlapping sets through this function never
    deadlock, because both lock in the same order (Python's ``sorted()`` of
    the names); a caller that takes the same sequences one by one in another
    order can still deadlock with it. ``nowait`` and ``timeout`` apply to
    every sequence of the call. One statement on PostgreSQL, MariaDB and
    SQLite; one per name, inside a savepoint, on MySQL and the ORM fallback.
    """
    if isinstance(sequence_names, str):
        raise TypeError(
            "sequence_names must be a list (or other iterable) of names, not one str: "
            f"got {sequence_names!r}; use get_next_value for one sequence"
        )
    names = [check_name(name) for name in sequence_names]
    check_int(initial_value, "initial_value", minimum=0)
    ordered = sorted(set(names))
    if len(ordered) != len(names):
        repeated = sorted({name for name in names if names.count(name) > 1})
        raise ValueError(
            f"sequence_names must name each sequence once, got {', '.join(map(repr, repeated))} "
            "more than once"
        )
    limit = wait_limit(nowait, timeout)
    if not names:
        return {}
    alias = _write_alias(using)
    connection = connections[alias]
    check_in_transaction(connection, alias)
    if connection.vendor == "mysql" and len(ordered) > 1:
        _refuse_names_the_database_matches_as_one(connection, alias, ordered)
    request = ManyRequest(
        sequence_names=tuple(ordered), using=alias, initial_value=initial_value, timeout=limit
    )
    draw_many = get_draw_many_function(connection)
    if draw_many is not None:
        values = draw_many(connection, request)
    else:
        # One statement per name, in the same order; the savepoint gives
        # back the values already drawn if a later one fails.
        draw = get_draw_function(connection)
        values = {}
        with transaction.atomic(using=alias):
            for name in ordered:
                last = draw(connection, name, initial_value, 1, None, limit)
                if last is None:
                    raise SequenceOverflow(name, alias)
                values[name] = last
    for name in ordered:  # for sequences.signals.commit_not_replicated
        record_draw(connection, name, range(values[name], values[name] + 1))
    # In the caller's order, which is what a dict comprehension over names gives.
    return {name: values[name] for name in names}


# Which of the given names the name column's collation matches as one row.
SAME_ROW_GROUPS = (
    "SELECT GROUP_CONCAT(i ORDER BY i) FROM ({rows}) AS v GROUP BY n HAVING COUNT(*) > 1"
)
SAME_ROW_ROW = "SELECT %s AS i, CONVERT(%s USING {charset}) COLLATE {collation} AS n"


def _refuse_names_the_database_matches_as_one(
    connection: Any, alias: str, names: list[str]
) -> None:
    """Raise ``ValueError`` if MariaDB/MySQL's column collation makes two names one row.

    A case-insensitive or pad-space collation (django-sequences 3.1's, kept
    on switched databases) matches ``"Inv"``, ``"inv"`` and ``"inv "`` to
    one row. The live column is asked, not assumed: two read-only queries,
    only when more than one name is drawn, and none when the column's
    collation is binary.
    """
    import re

    from .collation import column_collation, name_columns

    collation = column_collation(connection, name_columns()[0])
    if collation is None:
        return
    if collation.endswith("_bin") or collation == "binary":
        return
    if not re.fullmatch(r"\w+", collation):
        return
    charset = collation.split("_", 1)[0]  # a collation's name starts with its charset's
    with connection.cursor() as cursor:
        one = SAME_ROW_ROW.format(charset=charset, collation=collation)
        cursor.execute(
            SAME_ROW_GROUPS.format(rows=" UNION ALL ".join([one] * len(names))),
            [value for index, name in enumerate(names) for value in (index, name)],
        )
        groups = [[names[int(i)] for i in str(group[0]).split(",")] for group in cursor]
    if groups:
        described = "; ".join(", ".join(map(repr, group)) for group in groups)
        raise ValueError(
            f"sequence_names must name each sequence once, but database {alias!r} "
            f"matches {described} as one sequence (its name column uses the "
            f"{collation} collation); pass each sequence once, as it is stored"
        )


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


def delete(
    sequence_name: str = "default", *, timeout: float | None = None, using: str | None = None
) -> bool:
    """Delete a sequence; return whether it existed.

    The deletion is recorded in the audit trail (:class:`SequenceChange`) in
    the same transaction. The next ``get_next_value`` starts it again at its
    ``initial_value``. It waits for the sequence's lock at most ``timeout``
    seconds (default ``SEQUENCES_LOCK_TIMEOUT``), then raises
    :class:`~sequences.SequenceLocked`.
    """
    from .models import Sequence, SequenceChange

    check_name(sequence_name)
    limit = wait_limit(False, timeout)
    alias = _write_alias(using)
    with bounded_atomic(sequence_name, alias, limit):
        last = locked_last(Sequence, sequence_name, using=alias, timeout=limit)
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
    timeout: float | None = None,
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
    It waits for the sequence's lock at most ``timeout`` seconds (default
    ``SEQUENCES_LOCK_TIMEOUT``), then raises :class:`~sequences.SequenceLocked`.
    """
    from .models import Sequence, SequenceChange

    check_name(sequence_name)
    check_int(next_value, "next_value", minimum=1)
    if expected_last is not None:
        check_int(expected_last, "expected_last", minimum=0)
    if not isinstance(reason, str):
        raise TypeError(f"reason must be a str, got {type(reason).__name__}")
    if not isinstance(allow_reuse, bool):
        # A truthy string such as "no" must not move a sequence back.
        raise TypeError(
            f"allow_reuse must be True or False, got {type(allow_reuse).__name__}: {allow_reuse!r}"
        )
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
    limit = wait_limit(False, timeout)
    alias = _write_alias(using)
    with bounded_atomic(sequence_name, alias, limit):
        change: SequenceChange = change_sequence(
            Sequence,
            SequenceChange,
            sequence_name,
            next_value - 1,
            expected_last=expected_last,
            allow_reuse=allow_reuse,
            using=alias,
            timeout=limit,
            record={
                "action": action,
                "source": source,
                "reason": reason,
                "user": user,
                "username": username,
            },
        )
    return change


@contextmanager
def bounded_atomic(sequence_name: str, using: str, timeout: float | None) -> Iterator[None]:
    """``transaction.atomic(using=using)`` whose lock waits are bounded, its ``BEGIN``'s too.

    For :func:`reset_sequence` and :func:`delete`: their ORM statements wait
    under :func:`bounded_lock_wait`, or, in a SQLite transaction of their own,
    under the busy timeout set for all of it. ``timeout`` is a limit already
    resolved by :func:`wait_limit` (``None``: no limit).
    """
    if timeout is not None and _begin_can_wait(using):
        with _sqlite_atomic_waiting_at_most(sequence_name, using, timeout):
            yield
        return
    with transaction.atomic(using=using), bounded_lock_wait(sequence_name, using, timeout):
        yield


@contextmanager
def atomic_with_timeout(
    sequence_name: str, using: str, timeout: float | None = None
) -> Iterator[None]:
    """``transaction.atomic(using=using)`` whose ``BEGIN`` waits at most ``timeout`` seconds.

    For code that opens a transaction around a bounded call (the
    ``sequence_next`` command, the admin's reset). Only SQLite's ``BEGIN``
    can wait: with ``transaction_mode`` ``IMMEDIATE`` or ``EXCLUSIVE`` (what
    ``sequences.W101`` recommends) it takes the database's write lock, under
    the connection's busy timeout. Outside an ``atomic()`` block on SQLite the
    busy timeout is set before ``BEGIN`` and put back after ``COMMIT`` (or
    the rollback), and a lock given up on raises
    :class:`~sequences.SequenceLocked`.
    Anywhere else this is ``atomic()``. ``timeout`` as for :func:`get_next_value`
    (``None``: ``SEQUENCES_LOCK_TIMEOUT``).
    """
    limit = wait_limit(False, timeout)
    if limit is not None and _begin_can_wait(using):
        with _sqlite_atomic_waiting_at_most(sequence_name, using, limit):
            yield
        return
    with transaction.atomic(using=using):
        yield


def _begin_can_wait(using: str) -> bool:
    """Whether ``atomic(using=using)`` would begin a SQLite transaction (whose BEGIN can wait)."""
    connection = connections[using]
    return connection.vendor == "sqlite" and not connection.in_atomic_block


@contextmanager
def _sqlite_atomic_waiting_at_most(sequence_name: str, using: str, limit: float) -> Iterator[None]:
    # The busy timeout is set for the whole transaction, its BEGIN included:
    # every statement inside waits at most ``limit`` too.
    from .backends.sqlite import _busy_timeout

    connection = connections[using]
    connection.ensure_connection()
    with (
        lock_errors_raise_locked(sequence_name, using, limit),
        _busy_timeout(connection, limit),
        transaction.atomic(using=using),
    ):
        yield


@contextmanager
def bounded_lock_wait(sequence_name: str, using: str, timeout: float | None) -> Iterator[None]:
    """Bound every lock wait on ``using`` to ``timeout`` seconds inside the block.

    For the ORM queries of :func:`reset_sequence` and :func:`delete`, which
    are not one statement. Use it inside ``atomic(using=using)``: on
    PostgreSQL the limit is transaction-local and put back when the block
    ends normally; after an error the enclosing ``atomic`` rolls back, which
    restores it. MariaDB/MySQL's session variable and SQLite's busy timeout
    are put back on every exit. Other vendors: no limit (``timeout=0`` still
    uses ``NOWAIT``). A lock wait that gives up raises
    :class:`~sequences.SequenceLocked`.
    """
    if timeout is None:
        yield
        return
    connection = connections[using]
    vendor = connection.vendor
    restore: str | None = None
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            from .backends.postgresql import lock_timeout_setting

            cursor.execute("SHOW lock_timeout")
            saved = cursor.fetchone()[0]
            cursor.execute(SET_LOCK_TIMEOUT, [lock_timeout_setting(timeout)])
        elif vendor == "mysql":
            from .backends.mysql import lock_wait_timeout

            cursor.execute("SELECT @@SESSION.innodb_lock_wait_timeout")
            restore = f"SET SESSION innodb_lock_wait_timeout = {int(cursor.fetchone()[0]):d}"
            cursor.execute(SET_INNODB_LOCK_WAIT, [lock_wait_timeout(timeout)])
    # SQLite: the draw's own busy-timeout block (set on the sqlite3 connection,
    # put back on every exit; nothing when nothing can wait).
    bounded: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
    if vendor == "sqlite":
        from .backends.sqlite import _busy_timeout

        bounded = _busy_timeout(connection, timeout)
    try:
        with lock_errors_raise_locked(sequence_name, using, timeout), bounded:
            yield
        if vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(SET_LOCK_TIMEOUT, [saved])
    finally:
        if restore is not None:
            # Through the driver: after an error Django refuses queries until
            # the atomic block ends, but a session setting must be put back
            # now (it is not transactional).
            raw = connection.connection.cursor()
            try:
                raw.execute(restore)
            finally:
                raw.close()


SET_LOCK_TIMEOUT = "SELECT set_config('lock_timeout', %s, true)"
SET_INNODB_LOCK_WAIT = "SET SESSION innodb_lock_wait_timeout = %s"


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

    def get_next_value(self, *, nowait: bool = False, timeout: float | None = None) -> int:
        return get_next_value(
            self.sequence_name,
            self.initial_value,
            self.reset_value,
            nowait=nowait,
            timeout=timeout,
            using=self.using,
        )

    def get_next_values(
        self, batch_size: int = 1, *, nowait: bool = False, timeout: float | None = None
    ) -> range:
        return get_next_values(
            batch_size,
            self.sequence_name,
            self.initial_value,
            self.reset_value,
            nowait=nowait,
            timeout=timeout,
            using=self.using,
        )

    def delete(self, *, timeout: float | None = None) -> bool:
        return delete(self.sequence_name, timeout=timeout, using=self.using)

    def __iter__(self) -> Iterator[int]:
        return self

    def __next__(self) -> int:
        return self.get_next_value()
