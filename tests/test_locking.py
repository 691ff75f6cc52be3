"""Lock control: timeout, get_next_value_many, strict mode (docs/locking.md).

Waits are tested with real threads, each with its own connection: a holder
keeps a sequence locked, the caller gives up after about ``timeout`` (a
generous window, never an exact time), and the values stay contiguous.
"""

from __future__ import annotations

import math
import threading
import time
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError, connections, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from sequences import (
    NumberSeries,
    OutsideTransaction,
    Sequence,
    SequenceLocked,
    SequenceOverflow,
    delete,
    get_last_value,
    get_next_value,
    get_next_value_many,
    get_next_values,
    reset_sequence,
)
from sequences.models import Sequence as SequenceRow
from tests.test_concurrency import Scenario

MAX = 2**63 - 1

# Generous: the machine is shared and loaded. The lower bound is what proves
# the call waited; the upper one that it gave up on its own.
LATE = 8.0


@pytest.fixture
def no_queries(db):
    with CaptureQueriesContext(connections["default"]) as queries:
        yield
    assert len(queries) == 0, queries.captured_queries


# --- Arguments -------------------------------------------------------------

CALLS = {
    "get_next_value": lambda **kw: get_next_value("s", **kw),
    "get_next_values": lambda **kw: get_next_values(2, "s", **kw),
    "get_next_value_many": lambda **kw: get_next_value_many(["s", "t"], **kw),
    "Sequence.get_next_value": lambda **kw: Sequence("s").get_next_value(**kw),
    "Sequence.get_next_values": lambda **kw: Sequence("s").get_next_values(2, **kw),
    "NumberSeries.next": lambda **kw: NumberSeries("s", format="{value}").next(**kw),
}
NO_NOWAIT_CALLS = {
    "delete": lambda **kw: delete("s", **kw),
    "Sequence.delete": lambda **kw: Sequence("s").delete(**kw),
    "reset_sequence": lambda **kw: reset_sequence("s", 5, expected_last=None, reason="r", **kw),
}


@pytest.mark.parametrize(
    ("timeout", "error", "message"),
    [
        (-1, ValueError, "timeout must be 0 or more seconds .*got -1"),
        (-0.5, ValueError, "timeout must be 0 or more seconds"),
        (math.nan, ValueError, "timeout must be 0 or more seconds .*got nan"),
        (-math.inf, ValueError, "timeout must be 0 or more seconds"),
        ("1", TypeError, "timeout must be a number of seconds .*got str: '1'"),
        (Decimal("1"), TypeError, "timeout must be a number of seconds .*got Decimal"),
        (True, TypeError, "timeout must be a number of seconds .*got bool"),
    ],
)
@pytest.mark.parametrize("call", [*CALLS, *NO_NOWAIT_CALLS])
def test_bad_timeout_is_refused_before_any_sql(no_queries, call, timeout, error, message):
    function = {**CALLS, **NO_NOWAIT_CALLS}[call]
    with pytest.raises(error, match=message):
        function(timeout=timeout)


@pytest.mark.parametrize("call", list(CALLS))
@pytest.mark.parametrize("timeout", [0, 1.5, math.inf])
def test_nowait_and_timeout_together_are_refused(no_queries, call, timeout):
    with pytest.raises(ValueError, match="Pass nowait=True or timeout, not both"):
        CALLS[call](nowait=True, timeout=timeout)


@pytest.mark.parametrize("value", [-1, "5", math.nan, True])
def test_an_invalid_lock_timeout_setting_is_refused_at_the_first_draw(no_queries, value):
    with (
        override_settings(SEQUENCES_LOCK_TIMEOUT=value),
        pytest.raises(ImproperlyConfigured, match="SEQUENCES_LOCK_TIMEOUT must be"),
    ):
        get_next_value("s")


def test_timeouts_without_contention_draw_normally(in_transaction, draw_path):
    assert get_next_value("free", timeout=0) == 1
    assert get_next_value("free", timeout=0.2) == 2
    assert get_next_values(3, "free", timeout=math.inf) == range(3, 6)
    with override_settings(SEQUENCES_LOCK_TIMEOUT=1):
        assert Sequence("free").get_next_value() == 6
        assert Sequence("free").get_next_values(2, timeout=2) == range(7, 9)


def test_each_timed_call_is_one_statement(in_transaction, vendor):
    get_next_value("one")
    calls = [lambda: get_next_value("one", timeout=1.5), lambda: get_next_value("new", timeout=2)]
    for call in calls:
        with CaptureQueriesContext(connections["default"]) as queries:
            call()
        assert len(queries) == 1, queries.captured_queries


# --- Waiting at most timeout seconds ---------------------------------------


@pytest.fixture
def existing(transactional_db):
    get_next_value("shared")


def run_against_a_holder(second) -> Scenario:
    scenario = Scenario()
    scenario.run(lambda: get_next_value("shared"), second, let_second_finish_first=30)
    return scenario


def assert_gave_up(scenario: Scenario, *, at_least: float) -> SequenceLocked:
    assert scenario.log == [
        "first drew",
        "second raised SequenceLocked",
        "release",
        "first committed",
    ]
    assert at_least * 0.9 <= scenario.second_elapsed < LATE, scenario.second_elapsed
    error = scenario.errors["second"]
    assert isinstance(error, SequenceLocked)
    assert error.waited is not None and error.waited >= at_least * 0.9
    assert "gave up after waiting" in str(error)
    return error


def assert_contiguous() -> None:
    # The refused call consumed nothing: the holder has 1 (or 2), the next is next.
    last = get_last_value("shared")
    assert last is not None
    assert get_next_value("shared") == last + 1


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
@pytest.mark.parametrize("first_access", [True, False])
def test_a_call_gives_up_after_about_timeout(request, vendor, first_access):
    if not first_access:
        request.getfixturevalue("existing")
    scenario = run_against_a_holder(lambda: get_next_value("shared", timeout=0.5))
    error = assert_gave_up(scenario, at_least=0.5 if vendor != "mariadb" else 1.0)
    assert error.timeout == 0.5 and "timeout=0.5 s" in str(error)
    assert_contiguous()


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_a_number_series_gives_up_after_about_timeout(existing, vendor):
    series = NumberSeries("shared", format="N-{value}")  # no period: the sequence "shared"
    scenario = run_against_a_holder(lambda: series.next(timeout=0.5))
    error = assert_gave_up(scenario, at_least=0.5 if vendor != "mariadb" else 1.0)
    assert error.timeout == 0.5
    assert_contiguous()


# SQLite has no SELECT ... FOR UPDATE: the ORM fallback never serves it. The
# fallback's first call waits for a row another transaction is still inserting
# without limit (documented), so the sequence exists here.
@pytest.mark.django_db(transaction=True, databases=["default", "other"])
@pytest.mark.backends("postgresql", "mariadb")
def test_the_orm_fallback_gives_up_after_about_timeout(existing, monkeypatch):
    from sequences.backends import generic

    monkeypatch.setattr("sequences.api.get_draw_function", lambda connection: generic.draw)
    scenario = run_against_a_holder(lambda: get_next_value("shared", timeout=0.5))
    error = assert_gave_up(scenario, at_least=0.5)
    assert error.timeout == 0.5
    assert_contiguous()


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
@pytest.mark.backends("mariadb")
def test_mariadb_rounds_a_fraction_of_a_second_up_never_down_to_nowait(existing):
    scenario = run_against_a_holder(lambda: get_next_value("shared", timeout=0.2))
    assert_gave_up(scenario, at_least=1.0)
    assert_contiguous()


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_the_lock_timeout_setting_is_the_default(existing):
    with override_settings(SEQUENCES_LOCK_TIMEOUT=0):
        scenario = run_against_a_holder(lambda: get_next_value("shared"))
    error = scenario.errors["second"]
    assert isinstance(error, SequenceLocked) and error.timeout == 0
    assert "nowait=True: it did not wait" in str(error)
    assert scenario.second_elapsed < LATE
    assert_contiguous()


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_math_inf_waits_whatever_the_default(existing):
    with override_settings(SEQUENCES_LOCK_TIMEOUT=0):
        scenario = Scenario()
        scenario.run(
            lambda: get_next_value("shared"),
            lambda: get_next_value("shared", timeout=math.inf),
        )
    # It waited until the release; after that, which thread logs first is a race.
    assert scenario.log[:2] == ["first drew", "release"]
    assert sorted(scenario.log[2:]) == ["first committed", "second drew"]
    assert scenario.values["second"] == scenario.values["first"] + 1


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_reset_sequence_and_delete_give_up_after_about_timeout(existing, vendor):
    # SQLite (deferred transactions): reset and delete read, then write; a
    # reader cannot start writing while another transaction writes, and
    # SQLite refuses that at once, without calling its busy handler.
    at_least = 0.0 if vendor == "sqlite" else (1.0 if vendor == "mariadb" else 0.5)

    def second() -> int:
        reset_sequence("shared", 100, expected_last=1, reason="r", timeout=0.5)
        return 0

    scenario = run_against_a_holder(second)
    assert scenario.log[1] == "second raised SequenceLocked"
    assert at_least * 0.9 <= scenario.second_elapsed < LATE
    scenario = run_against_a_holder(lambda: int(delete("shared", timeout=0.5)))
    assert scenario.log[1] == "second raised SequenceLocked"
    assert at_least * 0.9 <= scenario.second_elapsed < LATE
    assert get_last_value("shared") == 3  # both holders committed; nothing else changed


LOCK_WAIT_SETTINGS = {
    "postgresql": ("SET LOCAL lock_timeout = '7s'", "SHOW lock_timeout", "7s"),
    "mariadb": (
        "SET SESSION innodb_lock_wait_timeout = 7",
        "SELECT @@SESSION.innodb_lock_wait_timeout",
        7,
    ),
    "sqlite": ("PRAGMA busy_timeout = 7000", "PRAGMA busy_timeout", 7000),
}


def test_timeouts_leave_the_connections_own_setting_alone(in_transaction, vendor):
    set_it, show_it, expected = LOCK_WAIT_SETTINGS[vendor]
    with transaction.atomic(), connections["default"].cursor() as cursor:
        cursor.execute(set_it)
        get_next_value("kept", timeout=0.25)
        get_next_values(2, "kept", timeout=3)
        get_next_value_many(["kept", "kept2"], timeout=2)
        reset_sequence("kept", 100, expected_last=4, reason="r", timeout=1)
        delete("kept", timeout=1)
        cursor.execute(show_it)
        assert cursor.fetchone()[0] == expected
    connections["default"].close()  # the next test gets the server's defaults


# --- get_next_value_many ---------------------------------------------------


def test_many_returns_each_next_value_in_the_callers_order(in_transaction):
    get_next_values(4, "b")
    values = get_next_value_many(["c", "b", "a"], initial_value=10)
    assert values == {"c": 10, "b": 5, "a": 10}
    assert list(values) == ["c", "b", "a"]
    assert get_next_value_many(["a", "c"]) == {"a": 11, "c": 11}
    assert get_next_value_many([]) == {}


def test_many_names_are_data_not_sql(in_transaction, draw_path):
    names = ["x'); DROP TABLE sequences_sequence; --", 'a "b" \\c', "%s {table}", "{a,b}", "ü 🧾"]
    assert get_next_value_many(names) == dict.fromkeys(names, 1)
    assert get_next_value_many(names) == dict.fromkeys(names, 2)
    assert sorted(SequenceRow.objects.values_list("name", flat=True)) == sorted(names)


def test_many_on_another_database(db_mode):
    assert get_next_value_many(["x", "y"], using="other") == {"x": 1, "y": 1}
    assert get_last_value("x", using="other") == 1
    assert get_last_value("x") is None


def test_many_rollback_gives_every_value_back(in_transaction):
    get_next_value_many(["a", "b"])
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        assert get_next_value_many(["a", "b", "new"]) == {"a": 2, "b": 2, "new": 1}
        raise ZeroDivisionError
    assert (get_last_value("a"), get_last_value("b"), get_last_value("new")) == (1, 1, None)


def test_many_overflow_consumes_nothing(db_mode, vendor):
    SequenceRow.objects.create(name="full", last=MAX)
    get_next_value("fine")
    with pytest.raises(SequenceOverflow), transaction.atomic():
        get_next_value_many(["fine", "full", "zzz"])
    assert get_last_value("fine") == 1
    assert get_last_value("zzz") is None


@pytest.mark.parametrize(
    ("names", "error", "message"),
    [
        (["a", "b", "a"], ValueError, "each sequence once, got 'a' more than once"),
        ("ab", TypeError, "not one str"),
        ([1], TypeError, "sequence_name must be a str"),
        (["a", ""], ValueError, "sequence_name must be 1 to 100 characters"),
    ],
)
def test_many_refuses_bad_names_before_any_sql(no_queries, names, error, message):
    with pytest.raises(error, match=message):
        get_next_value_many(names)


def test_many_refuses_a_bad_initial_value(no_queries):
    with pytest.raises(ValueError, match="initial_value must be between 0"):
        get_next_value_many(["a"], initial_value=-1)


def test_many_writes_in_one_statement(in_transaction, vendor, draw_path):
    with CaptureQueriesContext(connections["default"]) as queries:
        get_next_value_many(["a", "b", "c"], timeout=2)
    writes = [q["sql"] for q in queries.captured_queries if "INSERT" in q["sql"].upper()]
    if draw_path == "native":
        assert len(writes) == 1, queries.captured_queries
    else:
        assert len(writes) >= 3  # one get_or_create per name


@pytest.mark.django_db(transaction=True)
@pytest.mark.backends("mariadb")
def test_many_refuses_names_a_case_insensitive_column_matches_as_one():
    """Asked of the live column, so it holds whatever collation the column has."""
    connection = connections["default"]
    table = SequenceRow._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COLLATION_NAME FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s AND COLUMN_NAME = 'name'",
            [table],
        )
        (original,) = cursor.fetchone()
        try:
            cursor.execute(
                f"ALTER TABLE {table} MODIFY name varchar(100) "
                "CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL"
            )
            with pytest.raises(ValueError, match="matches 'INV', 'inv' as one sequence"):
                get_next_value_many(["inv", "other", "INV"])
            assert get_last_value("inv") is None
            assert get_next_value_many(["inv", "other"]) == {"inv": 1, "other": 1}
        finally:
            cursor.execute(
                f"ALTER TABLE {table} MODIFY name varchar(100) "
                f"CHARACTER SET utf8mb4 COLLATE {original} NOT NULL"
            )
    if original.endswith("_bin"):
        # On the binary column the spellings are separate sequences.
        assert get_next_value_many(["inv", "INV"]) == {"inv": 2, "INV": 1}


@pytest.mark.django_db(transaction=True)
def test_many_nowait_and_timeout_apply_to_every_sequence(existing, vendor):
    scenario = run_against_a_holder(lambda: get_next_value_many(["a", "shared"], nowait=True))
    assert scenario.log[1] == "second raised SequenceLocked"
    scenario = run_against_a_holder(lambda: get_next_value_many(["a", "shared"], timeout=0.5))
    assert_gave_up(scenario, at_least=0.5 if vendor != "mariadb" else 1.0)
    assert get_last_value("a") is None  # the refused call consumed nothing
    assert_contiguous()


ROUNDS = 25


@pytest.mark.django_db(transaction=True)
def test_many_in_opposite_orders_never_deadlocks():
    """Two threads take {a, b} as ["a", "b"] and ["b", "a"]: sorted locking, no deadlock."""
    errors: list[BaseException] = []
    drawn: list[dict[str, int]] = []
    start = threading.Barrier(2)

    def take(names: list[str]) -> None:
        try:
            start.wait(10)
            for _ in range(ROUNDS):
                with transaction.atomic():
                    drawn.append(get_next_value_many(names))
                    time.sleep(0.002)  # hold both locks a moment, so the threads meet
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=take, args=(n,)) for n in (["a", "b"], ["b", "a"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    for name in ("a", "b"):
        assert sorted(d[name] for d in drawn) == list(range(1, 2 * ROUNDS + 1))
        assert get_last_value(name) == 2 * ROUNDS


@pytest.mark.django_db(transaction=True)
@pytest.mark.backends("postgresql", "mariadb")
def test_many_mixed_with_single_calls_in_another_order_can_deadlock():
    """The rule: take sequences one by one in sorted order too, or only through many."""
    log: list[str] = []
    b_taken, many_waiting = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def singles() -> None:  # b, then a: against the sorted order
        try:
            with transaction.atomic():
                get_next_value("b")
                b_taken.set()
                assert many_waiting.wait(10)
                time.sleep(0.5)  # let get_next_value_many lock a and wait for b
                get_next_value("a")
            log.append("singles committed")
        except OperationalError as exc:
            errors.append(exc)
            log.append("singles aborted")
        finally:
            connections.close_all()

    def many() -> None:
        try:
            assert b_taken.wait(10)
            with transaction.atomic():
                many_waiting.set()
                get_next_value_many(["a", "b"])
            log.append("many committed")
        except OperationalError as exc:
            errors.append(exc)
            log.append("many aborted")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=singles), threading.Thread(target=many)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(log) in (
        ["many aborted", "singles committed"],
        ["many committed", "singles aborted"],
    )
    (error,) = errors
    assert "deadlock" in str(error).lower()


# --- Strict mode -----------------------------------------------------------


DRAWS: dict[str, Any] = {
    "get_next_value": lambda using: get_next_value("strict", using=using),
    "get_next_values": lambda using: get_next_values(2, "strict", using=using),
    "get_next_value_many": lambda using: get_next_value_many(["strict"], using=using),
    "Sequence": lambda using: next(Sequence("strict", using=using)),
    "Sequence.get_next_values": lambda using: Sequence("strict", using=using).get_next_values(),
    "NumberSeries.next": lambda using: NumberSeries("strict", format="{value}").next(using=using),
}


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
@override_settings(SEQUENCES_REQUIRE_TRANSACTION=True)
@pytest.mark.parametrize("draw", list(DRAWS))
def test_strict_mode_refuses_a_draw_in_autocommit_before_any_sql(draw):
    with (
        CaptureQueriesContext(connections["default"]) as queries,
        pytest.raises(OutsideTransaction) as raised,
    ):
        DRAWS[draw]("default")
    assert len(queries) == 0
    message = str(raised.value)
    assert "take the value and save the row that uses it in the same transaction" in message
    assert "transaction.atomic(using='default')" in message
    assert get_last_value("strict") is None


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
@override_settings(SEQUENCES_REQUIRE_TRANSACTION=True)
@pytest.mark.parametrize("draw", list(DRAWS))
def test_strict_mode_allows_a_draw_in_a_transaction(draw):
    with transaction.atomic():
        DRAWS[draw]("default")
    assert get_last_value("strict") is not None


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
@override_settings(SEQUENCES_REQUIRE_TRANSACTION=True)
def test_strict_mode_checks_the_connection_of_using():
    with transaction.atomic(), pytest.raises(OutsideTransaction, match="'other'"):
        get_next_value("strict", using="other")
    with transaction.atomic(using="other"):
        assert get_next_value("strict", using="other") == 1


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
@override_settings(SEQUENCES_REQUIRE_TRANSACTION=True)
def test_strict_mode_accepts_autocommit_turned_off():
    transaction.set_autocommit(False)
    try:
        assert get_next_value("strict") == 1
        transaction.commit()
    finally:
        transaction.set_autocommit(True)
    assert get_last_value("strict") == 1


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_strict_mode_is_off_by_default_and_follows_the_setting():
    assert get_next_value("strict") == 1  # autocommit, as django-sequences 3.1 allows
    with override_settings(SEQUENCES_REQUIRE_TRANSACTION=True), pytest.raises(OutsideTransaction):
        get_next_value("strict")
    assert get_next_value("strict") == 2


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
@override_settings(SEQUENCES_REQUIRE_TRANSACTION=True)
def test_strict_mode_leaves_the_commands_and_audited_changes_working():
    from django.core.management import call_command

    call_command("sequence_next", "strict", "--count", "2", stdout=_Sink(), stderr=_Sink())
    assert get_last_value("strict") == 2
    reset_sequence("strict", 10, expected_last=2, reason="test")
    assert delete("strict") is True


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_strict_mode_setting_must_be_a_bool():
    with (
        override_settings(SEQUENCES_REQUIRE_TRANSACTION="yes"),
        pytest.raises(ImproperlyConfigured, match="must be True or False"),
    ):
        get_next_value("strict")


class _Sink:
    def write(self, text: str) -> None:
        pass

    def flush(self) -> None:
        pass


# --- Commands and the admin ------------------------------------------------


@pytest.mark.parametrize("value", ["-1", "soon", "nan"])
@pytest.mark.parametrize("command", ["sequence_next", "sequence_reset", "sequence_init"])
def test_commands_refuse_a_bad_timeout(db, command, value):
    from django.core.management import CommandError

    from tests.command_utils import call

    arguments = {
        "sequence_next": [],
        "sequence_reset": ["--next", "5", "--reason", "r", "--no-input"],
        "sequence_init": ["--initial", "5"],
    }[command]
    with pytest.raises(CommandError, match="--timeout must be a number of seconds"):
        call(command, "s", *arguments, "--timeout", value)
    assert get_last_value("s") is None


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
@pytest.mark.parametrize("command", ["sequence_next", "sequence_reset"])
def test_commands_give_up_after_timeout_with_a_command_error(existing, command):
    from django.core.management import CommandError

    from tests.command_utils import call

    arguments = {
        "sequence_next": [],
        "sequence_reset": ["--next", "50", "--reason", "r", "--no-input"],
    }[command]

    def second() -> int:
        with pytest.raises(CommandError, match="is locked by another transaction"):
            call(command, "shared", *arguments, "--timeout", "0.3")
        return 0

    scenario = Scenario()
    scenario.run(lambda: get_next_value("shared"), second, let_second_finish_first=30)
    assert scenario.log[:2] == ["first drew", "second drew"]  # returned, not hung
    assert scenario.second_elapsed < LATE
    assert_contiguous()


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_admin_reset_says_the_sequence_is_in_use_instead_of_hanging(existing, monkeypatch):
    from django.contrib.messages import get_messages

    from sequences_admin.options import SequenceAdmin
    from tests.admin_helpers import RESET, client_for, make_user, url

    monkeypatch.setattr(SequenceAdmin, "reset_timeout", 0.3)
    client = client_for(make_user("resetter", *RESET))
    responses = []

    def second() -> int:
        # What the page showed: the committed state, before the holder drew.
        data = {"next_value": 50, "expected_last": 1, "reason": "busy"}
        responses.append(client.post(url("sequence_reset", "shared"), data))
        return 0

    scenario = Scenario()
    scenario.run(lambda: get_next_value("shared"), second, let_second_finish_first=30)
    assert scenario.log[:2] == ["first drew", "second drew"]
    assert scenario.second_elapsed < LATE
    (response,) = responses
    assert response.status_code == 200  # the form again, with what was typed
    shown = [str(message) for message in get_messages(response.wsgi_request)]
    assert shown == ["Sequence “shared” was not reset: the sequence is in use, try again."]
    assert_contiguous()  # nothing was reset


def test_admin_reset_has_a_short_default_timeout():
    from sequences_admin.options import SequenceAdmin

    assert 0 < SequenceAdmin.reset_timeout <= 10
