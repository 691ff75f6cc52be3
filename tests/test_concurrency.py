"""Real concurrent connections: who waits for whom, and what each one gets.

Each scenario runs two threads, each with its own database connection. The
first one takes a value and holds its transaction open; the second one then
tries. The event log records the order in which things happened, so the
tests assert the interleaving, not only the values.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from django.db import connections, transaction

from sequences import SequenceLocked, get_last_value, get_next_value

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "other"])

# Long enough that a second transaction that could proceed would have done so.
BLOCKED_FOR = 0.5


class Rollback(Exception):
    pass


class Scenario:
    """The first transaction draws and waits; the second one runs meanwhile."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.values: dict[str, int] = {}
        self.errors: dict[str, BaseException] = {}
        self.first_drew = threading.Event()
        self.second_done = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()

    def record(self, entry: str) -> None:
        with self.lock:
            self.log.append(entry)

    def run(
        self,
        first: Callable[[], int],
        second: Callable[[], int],
        *,
        first_commits: bool = True,
        let_second_finish_first: float = BLOCKED_FOR,
    ) -> None:
        def hold() -> None:
            try:
                with transaction.atomic():
                    self.values["first"] = first()
                    self.record("first drew")
                    self.first_drew.set()
                    assert self.release.wait(30)
                    if not first_commits:
                        raise Rollback
                self.record("first committed")
            except Rollback:
                self.record("first rolled back")
            finally:
                connections.close_all()

        def follow() -> None:
            try:
                with transaction.atomic():
                    self.values["second"] = second()
                self.record("second drew")
            except BaseException as exc:  # recorded, asserted by the test
                self.errors["second"] = exc
                self.record(f"second raised {type(exc).__name__}")
            finally:
                self.second_done.set()
                connections.close_all()

        holder = threading.Thread(target=hold)
        holder.start()
        assert self.first_drew.wait(30), "the first transaction never drew"
        follower = threading.Thread(target=follow)
        started = time.monotonic()
        follower.start()
        self.second_done.wait(let_second_finish_first)
        self.second_elapsed = time.monotonic() - started
        self.record("release")
        self.release.set()
        holder.join(30)
        follower.join(30)
        assert not holder.is_alive() and not follower.is_alive()
        # After the release both threads run at once: the server lets the
        # second transaction through as soon as the first one's COMMIT (or
        # ROLLBACK) is done, which can be before the first thread logs it. So
        # the log states what happened before the release exactly, and after
        # it the first transaction's end before the second one's draw (the
        # values asserted by each test prove the second saw that end).
        if "release" in self.log:
            cut = self.log.index("release") + 1
            self.log[cut:] = sorted(self.log[cut:], key=lambda entry: entry.startswith("second"))


@pytest.fixture
def existing():
    get_next_value("shared")
    assert get_last_value("shared") == 1


@pytest.mark.parametrize("access", ["first access", "later access"])
def test_second_transaction_waits_for_the_first_to_commit(request, access):
    if access == "later access":
        request.getfixturevalue("existing")
    scenario = Scenario()
    scenario.run(lambda: get_next_value("shared"), lambda: get_next_value("shared"))
    assert scenario.log == ["first drew", "release", "first committed", "second drew"]
    assert scenario.values["second"] == scenario.values["first"] + 1
    assert get_last_value("shared") == scenario.values["second"]


@pytest.mark.parametrize("access", ["first access", "later access"])
def test_second_transaction_reuses_the_value_of_a_rolled_back_first(request, access):
    if access == "later access":
        request.getfixturevalue("existing")
    scenario = Scenario()
    scenario.run(
        lambda: get_next_value("shared"),
        lambda: get_next_value("shared"),
        first_commits=False,
    )
    assert scenario.log == ["first drew", "release", "first rolled back", "second drew"]
    assert scenario.values["second"] == scenario.values["first"]
    assert get_last_value("shared") == scenario.values["first"]


@pytest.mark.parametrize("access", ["first access", "later access"])
def test_nowait_raises_at_once_while_another_transaction_holds_the_sequence(request, access):
    if access == "later access":
        request.getfixturevalue("existing")
    scenario = Scenario()
    scenario.run(
        lambda: get_next_value("shared"),
        lambda: get_next_value("shared", nowait=True),
        let_second_finish_first=10,
    )
    assert scenario.log == [
        "first drew",
        "second raised SequenceLocked",
        "release",
        "first committed",
    ]
    assert scenario.second_elapsed < 1
    error = scenario.errors["second"]
    assert isinstance(error, SequenceLocked)
    assert "'shared'" in str(error) and "'default'" in str(error)
    # Nothing was consumed by the refused call.
    assert get_last_value("shared") == scenario.values["first"]
    assert get_next_value("shared") == scenario.values["first"] + 1


def test_different_sequences_do_not_wait_for_each_other(vendor):
    scenario = Scenario()
    scenario.run(lambda: get_next_value("a"), lambda: get_next_value("b"))
    if vendor == "sqlite":
        # SQLite locks the whole database for writing: documented in docs/databases.md.
        assert scenario.log == ["first drew", "release", "first committed", "second drew"]
    else:
        assert scenario.log == ["first drew", "second drew", "release", "first committed"]
    assert scenario.values == {"first": 1, "second": 1}


def test_different_databases_do_not_wait_for_each_other():
    scenario = Scenario()
    scenario.run(
        lambda: get_next_value("shared"),
        lambda: get_next_value("shared", using="other"),
    )
    assert scenario.log == ["first drew", "second drew", "release", "first committed"]
    assert scenario.values == {"first": 1, "second": 1}


# SQLite has no SELECT ... FOR UPDATE: the ORM fallback never serves it.
@pytest.mark.backends("postgresql", "mariadb")
def test_orm_fallback_nowait_raises_on_an_existing_sequence(existing, monkeypatch):
    from sequences.backends import generic

    monkeypatch.setattr("sequences.api.get_draw_function", lambda connection: generic.draw)
    scenario = Scenario()
    scenario.run(
        lambda: get_next_value("shared"),
        lambda: get_next_value("shared", nowait=True),
        let_second_finish_first=10,
    )
    assert scenario.log == [
        "first drew",
        "second raised SequenceLocked",
        "release",
        "first committed",
    ]
    assert get_last_value("shared") == 2


# The connection's own limit on lock waits, set by the second transaction.
LOCK_WAIT_LIMITS = {
    "postgresql": "SET LOCAL lock_timeout = '200ms'",
    "mariadb": "SET SESSION innodb_lock_wait_timeout = 1",
    "sqlite": "PRAGMA busy_timeout = 200",
}


def test_a_lock_wait_that_times_out_raises_sequence_locked(existing, vendor):
    def second() -> int:
        with connections["default"].cursor() as cursor:
            cursor.execute(LOCK_WAIT_LIMITS[vendor])
        return get_next_value("shared")

    scenario = Scenario()
    scenario.run(lambda: get_next_value("shared"), second, let_second_finish_first=10)
    assert scenario.log == [
        "first drew",
        "second raised SequenceLocked",
        "release",
        "first committed",
    ]
    assert get_last_value("shared") == 2


def test_opposite_order_deadlock_is_detected_and_one_transaction_survives(vendor):
    """Two transactions take sequences a and b in opposite orders.

    PostgreSQL and MariaDB detect the deadlock and abort one transaction with
    Django's ``OperationalError``; the other one commits both values. SQLite
    cannot deadlock here: its database lock makes the second transaction wait
    before it takes anything.
    """
    from django.db import OperationalError

    log: list[str] = []
    a_taken, b_taken = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def take(first: str, second: str, mine: threading.Event, theirs: threading.Event) -> None:
        try:
            with transaction.atomic():
                get_next_value(first)
                mine.set()
                theirs.wait(2)
                get_next_value(second)
            log.append(f"{first}{second} committed")
        except OperationalError as exc:
            errors.append(exc)
            log.append(f"{first}{second} aborted")
        finally:
            connections.close_all()

    one = threading.Thread(target=take, args=("a", "b", a_taken, b_taken))
    one.start()
    assert a_taken.wait(10)
    two = threading.Thread(target=take, args=("b", "a", b_taken, a_taken))
    two.start()
    one.join(60)
    two.join(60)

    if vendor == "sqlite":
        assert log == ["ab committed", "ba committed"]
        assert (get_last_value("a"), get_last_value("b")) == (2, 2)
    else:
        assert sorted(log) in (
            ["ab aborted", "ba committed"],
            ["ab committed", "ba aborted"],
        )
        (error,) = errors
        assert not isinstance(error, SequenceLocked)
        assert "deadlock" in str(error).lower()
        assert (get_last_value("a"), get_last_value("b")) == (1, 1)


@pytest.mark.backends("postgresql")
def test_postgresql_lock_error_in_a_savepoint_leaves_the_callers_lock_timeout(existing):
    """Issue 11: after SequenceLocked, rolling back the savepoint restores the setting."""

    def second() -> int:
        with connections["default"].cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '5s'")
            with pytest.raises(SequenceLocked), transaction.atomic():
                get_next_value("shared", nowait=True)
            cursor.execute("SHOW lock_timeout")
            setting = cursor.fetchone()[0]
            assert setting == "5s", setting
            # The outer transaction is usable: another sequence draws at once.
            return get_next_value("unrelated", nowait=True)

    scenario = Scenario()
    scenario.run(lambda: get_next_value("shared"), second, let_second_finish_first=10)
    assert scenario.log == ["first drew", "second drew", "release", "first committed"]
    assert scenario.values["second"] == 1
    assert get_last_value("shared") == 2


def lock_the_table() -> int:
    """Hold a table lock that conflicts with the insert's ROW EXCLUSIVE, as DDL would."""
    from sequences.models import Sequence as SequenceRow

    connection = connections["default"]
    with connection.cursor() as cursor:
        table = connection.ops.quote_name(SequenceRow._meta.db_table)
        cursor.execute(f"LOCK TABLE {table} IN SHARE MODE")
    return 0


@pytest.mark.backends("postgresql")
def test_postgresql_nowait_waits_for_a_table_lock(existing):
    """The table lock is taken at parse time, under the caller's lock_timeout, not nowait's."""
    scenario = Scenario()
    scenario.run(lock_the_table, lambda: get_next_value("shared", nowait=True))
    # It waited until the release; after that, which thread logs first is a race.
    assert scenario.log[:2] == ["first drew", "release"]
    assert sorted(scenario.log[2:]) == ["first committed", "second drew"]
    assert scenario.second_elapsed >= BLOCKED_FOR * 0.9
    assert scenario.values["second"] == 2


@pytest.mark.backends("postgresql")
def test_postgresql_callers_lock_timeout_bounds_the_table_lock_wait(existing):
    def second() -> int:
        with connections["default"].cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '200ms'")
        return get_next_value("shared", nowait=True)

    scenario = Scenario()
    scenario.run(lock_the_table, second, let_second_finish_first=10)
    assert scenario.log == [
        "first drew",
        "second raised SequenceLocked",
        "release",
        "first committed",
    ]
    assert get_last_value("shared") == 1
