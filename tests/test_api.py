"""The public API on one connection, in autocommit and inside a transaction."""

from __future__ import annotations

import pytest
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext

import sequences
from sequences import (
    Sequence,
    SequenceOverflow,
    delete,
    get_last_value,
    get_next_value,
    get_next_values,
)
from sequences.models import Sequence as SequenceRow
from sequences.models import SequenceChange

MAX = 2**63 - 1


def test_first_call_returns_initial_value(in_transaction, draw_path):
    assert get_next_value("invoices") == 1


def test_later_calls_count_up_by_one(in_transaction, draw_path):
    assert [get_next_value("invoices") for _ in range(5)] == [1, 2, 3, 4, 5]


def test_default_sequence_name_is_default(in_transaction, draw_path):
    get_next_value()
    assert get_last_value("default") == 1


def test_initial_value_is_the_first_value(in_transaction, draw_path):
    assert get_next_value("customers", initial_value=1000) == 1000
    assert get_next_value("customers", initial_value=1000) == 1001


def test_initial_value_zero_is_allowed(in_transaction, draw_path):
    assert get_next_value("zero", initial_value=0) == 0
    assert get_next_value("zero", initial_value=0) == 1


def test_initial_value_is_ignored_once_the_sequence_exists(in_transaction, draw_path):
    get_next_value("once", initial_value=10)
    assert get_next_value("once", initial_value=500) == 11


def test_sequences_are_independent(in_transaction, draw_path):
    assert get_next_value("a") == 1
    assert get_next_value("b") == 1
    assert get_next_value("a") == 2
    assert get_last_value("b") == 1


def test_reset_value_is_an_exclusive_upper_bound(in_transaction, draw_path):
    values = [get_next_value("wrap", initial_value=1, reset_value=4) for _ in range(7)]
    assert values == [1, 2, 3, 1, 2, 3, 1]


def test_reset_value_restarts_at_initial_value_zero(in_transaction, draw_path):
    values = [get_next_value("wrap0", initial_value=0, reset_value=2) for _ in range(5)]
    assert values == [0, 1, 0, 1, 0]


def test_reset_value_lower_than_last_restarts_at_once(in_transaction, draw_path):
    for _ in range(10):
        get_next_value("lowered")
    assert get_next_value("lowered", reset_value=5) == 1


def test_reset_value_just_above_initial_value_repeats_it(in_transaction, draw_path):
    values = [get_next_value("same", initial_value=7, reset_value=8) for _ in range(3)]
    assert values == [7, 7, 7]


def test_get_next_values_first_batch_starts_at_initial_value(in_transaction, draw_path):
    assert get_next_values(10, "batch", initial_value=5) == range(5, 15)
    assert get_last_value("batch") == 14


def test_get_next_values_continues_after_the_last_value(in_transaction, draw_path):
    get_next_value("batch")
    assert get_next_values(3, "batch") == range(2, 5)
    assert get_next_value("batch") == 5


def test_get_next_values_batch_of_one_thousand(in_transaction, draw_path):
    assert get_next_values(1000, "big") == range(1, 1001)
    assert get_next_values(1000, "big") == range(1001, 2001)


def test_get_next_values_defaults_to_one_value(in_transaction, draw_path):
    assert get_next_values() == range(1, 2)


def test_get_next_values_with_reset_value_restarts_the_whole_batch(in_transaction, draw_path):
    assert get_next_values(3, "rb", 1, 7) == range(1, 4)
    assert get_next_values(3, "rb", 1, 7) == range(4, 7)
    assert get_next_values(3, "rb", 1, 7) == range(1, 4)
    assert get_next_values(4, "rb", 1, 7) == range(1, 5)


def test_get_next_values_zero_is_empty_and_writes_nothing(in_transaction, draw_path):
    with CaptureQueriesContext(connections["default"]) as queries:
        assert get_next_values(0, "empty") == range(0)
    assert len(queries) == 0
    assert get_last_value("empty") is None


def test_get_last_value_of_missing_sequence_is_none(in_transaction):
    assert get_last_value("missing") is None


def test_get_last_value_does_not_create_or_advance(in_transaction):
    get_next_value("read")
    assert get_last_value("read") == 1
    assert get_last_value("read") == 1
    assert get_next_value("read") == 2


def test_delete_existing_sequence_returns_true(in_transaction):
    get_next_value("gone")
    assert delete("gone") is True
    assert get_last_value("gone") is None


def test_delete_missing_sequence_returns_false(in_transaction):
    assert delete("never") is False
    assert not SequenceChange.objects.exists()


def test_sequence_starts_again_after_delete(in_transaction, draw_path):
    get_next_value("again", initial_value=3)
    get_next_value("again", initial_value=3)
    delete("again")
    assert get_next_value("again", initial_value=3) == 3


def test_delete_is_recorded_in_the_audit_trail(in_transaction):
    get_next_values(7, "audited")
    delete("audited")
    change = SequenceChange.objects.get()
    assert (change.sequence_name, change.action, change.source) == ("audited", "delete", "code")
    assert (change.last_before, change.last_after, change.database) == (7, None, "default")


def test_rolled_back_value_is_handed_out_again(in_transaction, draw_path):
    get_next_value("rollback")
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        assert get_next_value("rollback") == 2
        raise ZeroDivisionError("roll back")
    assert get_next_value("rollback") == 2


def test_rolled_back_first_call_creates_nothing(in_transaction, draw_path):
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        assert get_next_value("created", initial_value=10) == 10
        raise ZeroDivisionError("roll back")
    assert get_last_value("created") is None
    assert get_next_value("created", initial_value=10) == 10


def test_nowait_without_contention_returns_the_next_value(in_transaction, draw_path):
    assert get_next_value("nw", nowait=True) == 1
    assert get_next_value("nw", nowait=True) == 2
    assert get_next_values(2, "nw", nowait=True) == range(3, 5)


def test_nowait_with_reset_value(in_transaction, draw_path):
    values = [get_next_value("nwr", 1, 3, nowait=True) for _ in range(4)]
    assert values == [1, 2, 1, 2]


LOCK_WAIT_SETTINGS = {
    "postgresql": ("SET lock_timeout = '7s'", "SHOW lock_timeout", "7s"),
    "mariadb": (
        "SET SESSION innodb_lock_wait_timeout = 7",
        "SELECT @@SESSION.innodb_lock_wait_timeout",
        7,
    ),
    "sqlite": ("PRAGMA busy_timeout = 7000", "PRAGMA busy_timeout", 7000),
}


def test_nowait_leaves_the_lock_wait_setting_of_the_connection_alone(in_transaction, vendor):
    set_it, show_it, expected = LOCK_WAIT_SETTINGS[vendor]
    with connections["default"].cursor() as cursor:
        cursor.execute(set_it)
        get_next_value("nwt", nowait=True)
        get_next_value("nwt", nowait=True)
        cursor.execute(show_it)
        assert cursor.fetchone()[0] == expected
    connections["default"].close()  # the next test gets the server's defaults


def test_the_largest_value_is_two_to_the_63_minus_one(in_transaction, draw_path):
    SequenceRow.objects.create(name="edge", last=MAX - 1)
    assert get_next_value("edge") == MAX


def test_passing_the_largest_value_raises_and_changes_nothing(in_transaction, draw_path):
    SequenceRow.objects.create(name="full", last=MAX)
    with pytest.raises(SequenceOverflow, match="cannot go past 9223372036854775807"):
        get_next_value("full")
    assert get_last_value("full") == MAX


def test_a_batch_that_would_pass_the_largest_value_raises(in_transaction, draw_path):
    SequenceRow.objects.create(name="nearly", last=MAX - 5)
    with pytest.raises(SequenceOverflow):
        get_next_values(6, "nearly")
    assert get_next_values(5, "nearly") == range(MAX - 4, MAX + 1)


def test_overflow_is_a_database_error():
    from django.db import DatabaseError, DataError

    assert issubclass(SequenceOverflow, DataError)
    assert issubclass(SequenceOverflow, DatabaseError)


@pytest.mark.parametrize(
    "name",
    [
        "x'); DROP TABLE sequences_sequence; --",
        'double "quotes" and \\backslashes\\',
        "  spaces around  ",
        "ünïcødé — 请求 🧾",
        "%s %(name)s {table}",
        "n" * 100,
    ],
)
def test_names_are_data_not_sql(in_transaction, draw_path, name):
    assert get_next_value(name) == 1
    assert get_next_value(name) == 2
    assert get_last_value(name) == 2
    assert SequenceRow.objects.get(name=name).last == 2


def test_each_call_is_one_statement(in_transaction, vendor):
    connection = connections["default"]
    get_next_value("one")
    calls = [
        lambda: get_next_value("one"),
        lambda: get_next_value("one", reset_value=10**6),
        lambda: get_next_values(1000, "one"),
        lambda: get_next_value("one-new"),
        lambda: get_next_value("one", nowait=True),
    ]
    for call in calls:
        with CaptureQueriesContext(connection) as queries:
            call()
        assert len(queries) == 1, queries.captured_queries


class TestSequenceClass:
    def test_get_next_value_uses_the_bound_options(self, in_transaction, draw_path):
        seq = Sequence("bound", initial_value=5, reset_value=7)
        assert [seq.get_next_value() for _ in range(3)] == [5, 6, 5]

    def test_is_an_iterator(self, in_transaction):
        seq = Sequence("iter")
        assert iter(seq) is seq
        assert [next(seq), next(seq), next(seq)] == [1, 2, 3]

    def test_zip_draws_as_many_values_as_needed(self, in_transaction):
        assert list(zip("abc", Sequence("zipped"), strict=False)) == [
            ("a", 1),
            ("b", 2),
            ("c", 3),
        ]

    def test_get_next_values(self, in_transaction):
        seq = Sequence("batches", initial_value=10)
        assert seq.get_next_values(3) == range(10, 13)
        assert seq.get_next_values(2, nowait=True) == range(13, 15)

    def test_get_last_value_and_delete(self, in_transaction):
        seq = Sequence("lifecycle")
        assert seq.get_last_value() is None
        seq.get_next_value(nowait=True)
        assert seq.get_last_value() == 1
        assert seq.delete() is True
        assert seq.delete() is False

    def test_using_is_bound(self, db_mode):
        seq = Sequence("bound-db", using="other")
        assert next(seq) == 1
        assert get_last_value("bound-db", using="other") == 1
        assert get_last_value("bound-db") is None

    def test_repr_names_the_options(self):
        assert repr(Sequence("r", 2, 9, using="other")) == (
            "Sequence('r', initial_value=2, reset_value=9, using='other')"
        )

    def test_constructor_validates_before_any_query(self):
        with pytest.raises(ValueError, match="reset_value must be greater than initial_value"):
            Sequence("bad", initial_value=5, reset_value=5)


def test_public_names():
    assert set(sequences.__all__) == {
        "NumberSeries",
        "OutsideTransaction",
        "Sequence",
        "SequenceLocked",
        "SequenceOverflow",
        "SequenceValueChanged",
        "SeriesNumber",
        "assign_next_value",
        "delete",
        "get_last_value",
        "get_next_value",
        "get_next_value_many",
        "get_next_values",
        "reset_sequence",
    }


@pytest.mark.backends("postgresql")
@pytest.mark.parametrize("reset_value", [None, MAX])
def test_postgresql_nowait_overflow_keeps_the_callers_lock_timeout(in_transaction, reset_value):
    """Issue 11: no row comes back from a full sequence, and the setting must survive that."""
    SequenceRow.objects.create(name="full", last=MAX)
    with transaction.atomic(), connections["default"].cursor() as cursor:
        cursor.execute("SET LOCAL lock_timeout = '5s'")
        if reset_value is None:
            with pytest.raises(SequenceOverflow):
                get_next_value("full", nowait=True)
        else:  # the value outcome, through the reset path: MAX - 1 >= reset_value - 1
            assert get_next_value("full", reset_value=reset_value, nowait=True) == 1
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == "5s"
        # The transaction is still usable, and later draws see the same setting.
        assert get_next_value("after", nowait=True) == 1
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == "5s"


@pytest.mark.backends("postgresql")
def test_postgresql_nowait_sends_one_statement_that_reads_the_setting_first(in_transaction):
    with CaptureQueriesContext(connections["default"]) as queries:
        get_next_value("ordered", nowait=True)
    (query,) = queries.captured_queries
    sql = query["sql"]
    assert "saved AS MATERIALIZED" in sql and "limited AS MATERIALIZED" in sql
    assert sql.index("current_setting('lock_timeout')") < sql.index("set_config('lock_timeout'")


@pytest.fixture
def full_name_cache(monkeypatch):
    """The cache of checked names, filled to its cap with names drawn from before."""
    from sequences import api

    monkeypatch.setattr(api, "_checked_names", set())
    for index in range(api.MAX_CHECKED_NAMES + 10):
        api._remember(f"old-{index}")
    return api


def test_a_full_name_cache_still_takes_new_names(in_transaction, full_name_cache):
    api = full_name_cache
    assert get_next_value("new") == 1
    assert "new" in api._checked_names
    assert len(api._checked_names) <= api.MAX_CHECKED_NAMES
    assert get_next_value("new") == 2


@pytest.mark.parametrize("name", ["", "nul\x00", "\ud800", "n" * 101])
def test_a_full_name_cache_still_refuses_bad_names(in_transaction, full_name_cache, name):
    with CaptureQueriesContext(connections["default"]) as queries, pytest.raises(ValueError):
        get_next_value(name)
    assert queries.captured_queries == []
    assert name not in full_name_cache._checked_names
