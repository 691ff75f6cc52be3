"""SQLite's bounded waits: the busy timeout is set on the ``sqlite3`` connection, then put back.

``nowait`` and ``timeout`` lower the connection's busy timeout for the draw's
one statement. The PRAGMAs that read, set and restore it run on the driver's
connection, so Django's query log shows the draw alone, as on every other
path and backend; and whatever the draw's outcome, the caller's busy timeout
is what it was before.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext

from sequences import (
    SequenceLocked,
    SequenceOverflow,
    delete,
    get_next_value,
    get_next_value_many,
    get_next_values,
    reset_sequence,
)
from sequences.models import Sequence as SequenceRow

pytestmark = pytest.mark.backends("sqlite")

MAX = 2**63 - 1
# Not SQLite's default nor Django's (OPTIONS["timeout"]): a value only the test sets.
CALLERS = 7321

BOUNDED_CALLS: dict[str, Callable[[str], Any]] = {
    "get_next_value, nowait": lambda name: get_next_value(name, nowait=True),
    "get_next_value, timeout": lambda name: get_next_value(name, timeout=0.2),
    "get_next_values, nowait": lambda name: get_next_values(3, name, nowait=True),
    "get_next_values, timeout": lambda name: get_next_values(3, name, timeout=0.2),
    "get_next_value_many, nowait": lambda name: get_next_value_many([name, "b"], nowait=True),
    "get_next_value_many, timeout": lambda name: get_next_value_many([name, "b"], timeout=0.2),
}


def busy_timeout() -> int:
    """The connection's busy timeout in ms, read on the driver's connection."""
    raw = connections["default"].connection
    return int(raw.execute("PRAGMA busy_timeout").fetchone()[0])


@pytest.fixture
def callers_timeout(in_transaction: bool) -> Iterator[None]:
    connection = connections["default"]
    connection.ensure_connection()
    connection.connection.execute(f"PRAGMA busy_timeout = {CALLERS:d}")
    yield
    connection.close()  # the next test gets Django's own busy timeout


@pytest.mark.parametrize("call", list(BOUNDED_CALLS))
def test_a_bounded_draw_is_one_statement_in_djangos_query_log(callers_timeout, call):
    BOUNDED_CALLS[call]("logged")  # the first call creates the row; the second updates it
    for _ in range(2):
        with CaptureQueriesContext(connections["default"]) as queries:
            BOUNDED_CALLS[call]("logged")
        assert len(queries) == 1, queries.captured_queries
        assert "PRAGMA" not in queries[0]["sql"]


@pytest.mark.parametrize("call", list(BOUNDED_CALLS))
def test_the_busy_timeout_is_restored_after_a_draw(callers_timeout, call):
    BOUNDED_CALLS[call]("restored")
    assert busy_timeout() == CALLERS


@pytest.mark.parametrize("call", list(BOUNDED_CALLS))
def test_the_busy_timeout_is_restored_after_an_overflow(callers_timeout, call):
    SequenceRow.objects.create(name="full", last=MAX)
    with pytest.raises(SequenceOverflow):
        BOUNDED_CALLS[call]("full")
    assert busy_timeout() == CALLERS


@pytest.mark.parametrize("call", list(BOUNDED_CALLS))
def test_the_busy_timeout_is_restored_after_any_other_error(callers_timeout, call):
    def fail(*args: Any) -> None:
        raise ConnectionResetError("the statement never ran")

    with (
        connections["default"].execute_wrapper(fail),
        pytest.raises(ConnectionResetError, match="never ran"),
    ):
        BOUNDED_CALLS[call]("failing")
    assert busy_timeout() == CALLERS


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("call", list(BOUNDED_CALLS))
def test_the_busy_timeout_is_restored_after_giving_up_on_the_lock(call):
    connection = connections["default"]
    connection.ensure_connection()
    connection.connection.execute(f"PRAGMA busy_timeout = {CALLERS:d}")
    # Another connection to the same file holds SQLite's write lock.
    holder = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(SequenceLocked):
            BOUNDED_CALLS[call]("held")
        assert busy_timeout() == CALLERS
        holder.execute("ROLLBACK")
    finally:
        holder.close()
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_reset_and_delete_with_a_timeout_put_the_busy_timeout_back():
    connection = connections["default"]
    get_next_value("kept")
    connection.connection.execute(f"PRAGMA busy_timeout = {CALLERS:d}")
    try:
        with CaptureQueriesContext(connection) as queries:
            reset_sequence("kept", 10, expected_last=1, reason="r", timeout=1)
            delete("kept", timeout=1)
        assert not [query for query in queries.captured_queries if "PRAGMA" in query["sql"]]
        assert busy_timeout() == CALLERS
        with transaction.atomic():
            get_next_value("kept")
            assert busy_timeout() == CALLERS
    finally:
        connection.close()


def statements_run(action: Callable[[], Any]) -> list[str]:
    """The statements that SQLite runs on the default connection during ``action``."""
    raw = connections["default"].connection
    seen: list[str] = []
    raw.set_trace_callback(seen.append)
    try:
        action()
    finally:
        raw.set_trace_callback(None)
    return seen


def pragmas_run(action: Callable[[], Any]) -> list[str]:
    """The PRAGMA statements that SQLite runs on the default connection during ``action``."""
    return [sql for sql in statements_run(action) if sql.lstrip().upper().startswith("PRAGMA")]


@pytest.mark.parametrize("call", list(BOUNDED_CALLS))
def test_a_busy_timeout_already_as_asked_is_read_not_set(callers_timeout, call):
    # timeout=0.2 is 200 ms, nowait 0: when the connection already waits that
    # long, the one PRAGMA is the read; otherwise read, set and put back.
    asked = 0 if "nowait" in call else 200
    BOUNDED_CALLS[call]("as-asked")
    assert len(pragmas_run(lambda: BOUNDED_CALLS[call]("as-asked"))) == 3
    connections["default"].connection.execute(f"PRAGMA busy_timeout = {asked:d}")
    assert pragmas_run(lambda: BOUNDED_CALLS[call]("as-asked")) == ["PRAGMA busy_timeout"]
    assert busy_timeout() == asked


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("call", [call for call in BOUNDED_CALLS if "timeout" in call])
def test_a_busy_timeout_already_as_asked_still_bounds_the_wait(call):
    connection = connections["default"]
    connection.ensure_connection()
    connection.connection.execute("PRAGMA busy_timeout = 200")
    holder = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(SequenceLocked) as raised:
            BOUNDED_CALLS[call]("held")
        # SQLite's busy handler sleeps in steps: it gives up at about 200 ms.
        waited = raised.value.waited
        assert waited is not None
        assert 0.15 <= waited < 2
        assert busy_timeout() == 200
        holder.execute("ROLLBACK")
    finally:
        holder.close()
        connection.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("callers", "pragmas"), [(CALLERS, 3), (1000, 1)])
def test_reset_with_a_timeout_sets_the_busy_timeout_only_when_it_differs(callers, pragmas):
    connection = connections["default"]
    get_next_value("kept")
    connection.connection.execute(f"PRAGMA busy_timeout = {callers:d}")
    try:
        ran = pragmas_run(
            lambda: reset_sequence("kept", 10, expected_last=1, reason="r", timeout=1)
        )
        assert len(ran) == pragmas
        assert busy_timeout() == callers
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("call", list(BOUNDED_CALLS))
def test_inside_an_immediate_transaction_no_pragma_runs(immediate, call):
    # BEGIN IMMEDIATE took the write lock: nothing in the transaction waits,
    # so there is no wait to bound and the busy timeout is left alone.
    with transaction.atomic():
        BOUNDED_CALLS[call]("immediate")
        assert pragmas_run(lambda: BOUNDED_CALLS[call]("immediate")) == []
        with transaction.atomic():  # a savepoint: still the same transaction
            assert pragmas_run(lambda: BOUNDED_CALLS[call]("immediate")) == []
    assert get_next_value("immediate") == (10 if "get_next_values" in call else 4)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("call", list(BOUNDED_CALLS))
def test_outside_a_transaction_the_busy_timeout_is_still_set(immediate, call):
    # In autocommit the draw's own statement takes the lock, and can wait.
    BOUNDED_CALLS[call]("autocommit")
    connections["default"].connection.execute(f"PRAGMA busy_timeout = {CALLERS:d}")
    assert len(pragmas_run(lambda: BOUNDED_CALLS[call]("autocommit"))) == 3
    assert busy_timeout() == CALLERS


@pytest.mark.django_db(transaction=True)
def test_atomic_inside_a_manual_transaction_still_sets_the_busy_timeout(immediate):
    # With autocommit turned off, Python's sqlite3 began the transaction
    # deferred, whatever transaction_mode says: the draw can wait.
    connection = connections["default"]
    get_next_value("manual")
    connection.connection.execute(f"PRAGMA busy_timeout = {CALLERS:d}")
    transaction.set_autocommit(False)
    try:
        with transaction.atomic():
            assert len(pragmas_run(lambda: get_next_value("manual", nowait=True))) == 3
        transaction.rollback()
    finally:
        transaction.set_autocommit(True)
    assert busy_timeout() == CALLERS


RESET_OR_DELETE: dict[str, Callable[[float], Any]] = {
    "reset_sequence": lambda timeout: reset_sequence(
        "kept", 10, expected_last=1, reason="r", timeout=timeout
    ),
    "delete": lambda timeout: delete("kept", timeout=timeout),
}


@pytest.mark.django_db(transaction=True)
def test_reset_inside_an_immediate_transaction_runs_no_pragma(immediate):
    get_next_value("kept")
    with transaction.atomic():
        ran = pragmas_run(lambda: RESET_OR_DELETE["reset_sequence"](1))
    assert ran == []
    assert get_next_value("kept") == 10


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("action", list(RESET_OR_DELETE))
def test_in_their_own_immediate_transaction_the_busy_timeout_is_set_around_begin(
    immediate, action
):
    # Their own atomic() begins with BEGIN IMMEDIATE, which waits for the
    # write lock: the busy timeout asked for must already be set then.
    connection = connections["default"]
    get_next_value("kept")
    connection.connection.execute(f"PRAGMA busy_timeout = {CALLERS:d}")
    try:
        ran = [sql.split(" = ")[-1] for sql in statements_run(lambda: RESET_OR_DELETE[action](1))]
        begin, commit = ran.index("BEGIN IMMEDIATE"), ran.index("COMMIT")
        assert ran[:begin] == ["PRAGMA busy_timeout", "1000"]
        assert ran[commit + 1 :] == [str(CALLERS)]
        assert busy_timeout() == CALLERS
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("action", list(RESET_OR_DELETE))
def test_in_their_own_immediate_transaction_a_held_lock_raises_sequence_locked(immediate, action):
    connection = connections["default"]
    get_next_value("kept")
    connection.connection.execute(f"PRAGMA busy_timeout = {CALLERS:d}")
    holder = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(SequenceLocked) as raised:
            RESET_OR_DELETE[action](0.2)
        # Given up at about 200 ms, not at the connection's 7.3 s.
        waited = raised.value.waited
        assert waited is not None
        assert 0.15 <= waited < 2
        assert busy_timeout() == CALLERS
        assert not connection.in_atomic_block
        holder.execute("ROLLBACK")
    finally:
        holder.close()
    assert SequenceRow.objects.get(name="kept").last == 1
    RESET_OR_DELETE[action](0.2)  # the lock free: it goes through
    assert busy_timeout() == CALLERS
    connection.close()


@pytest.fixture
def held_lock(immediate: None) -> Iterator[sqlite3.Connection]:
    """Another connection to the database file holds SQLite's write lock."""
    connection = connections["default"]
    get_next_value("kept")
    connection.connection.execute(f"PRAGMA busy_timeout = {CALLERS:d}")
    holder = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield holder
    finally:
        if holder.in_transaction:
            holder.execute("ROLLBACK")
        holder.close()
        connection.close()  # the next test gets Django's own busy timeout


@pytest.mark.django_db(transaction=True)
def test_sequence_next_gives_up_at_its_own_begin_with_a_command_error(held_lock):
    # The command's own atomic() begins with BEGIN IMMEDIATE: that is where it waits.
    from django.core.management import CommandError

    from tests.command_utils import call

    started = time.monotonic()
    with pytest.raises(CommandError, match="is locked by another transaction"):
        call("sequence_next", "kept", "--timeout", "0.2")
    assert time.monotonic() - started < 2  # not the connection's 7.3 s
    assert busy_timeout() == CALLERS
    assert not connections["default"].in_atomic_block


@pytest.mark.django_db(transaction=True)
def test_the_admin_reset_says_in_use_when_its_begin_cannot_have_the_lock(held_lock, monkeypatch):
    from django.contrib.messages import get_messages

    from sequences_admin.options import SequenceAdmin
    from tests.admin_helpers import RESET, client_for, make_user, url

    monkeypatch.setattr(SequenceAdmin, "reset_timeout", 0.2)
    held_lock.execute("ROLLBACK")  # the user and its session need the lock first
    client = client_for(make_user("resetter", *RESET))
    client.get(url("sequence_reset", "kept"))
    held_lock.execute("BEGIN IMMEDIATE")
    started = time.monotonic()
    data = {"next_value": 50, "expected_last": 1, "reason": "busy"}
    response = client.post(url("sequence_reset", "kept"), data)
    assert time.monotonic() - started < 2
    assert response.status_code == 200  # the form again, not a server error
    shown = [str(message) for message in get_messages(response.wsgi_request)]
    assert shown == ["Sequence “kept” was not reset: the sequence is in use, try again."]
    assert busy_timeout() == CALLERS
    held_lock.execute("ROLLBACK")
    assert SequenceRow.objects.get(name="kept").last == 1
