"""assign_next_value and NumberSeries.assign: the number drawn last, onto a saved row."""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext

from sequences import (
    NumberSeries,
    OutsideTransaction,
    SeriesNumber,
    assign_next_value,
    get_last_value,
)
from sequences.models import Sequence
from tests.testapp.models import Document, Ticket


class Rollback(Exception):
    pass


def stored_numbers(using: str = "default") -> list[Any]:
    return list(Document.objects.using(using).order_by("pk").values_list("number", flat=True))


@contextmanager
def no_sql() -> Iterator[None]:
    """Assert the block sends no statement to either database and leaves no sequence."""
    with ExitStack() as stack:
        captured = [
            stack.enter_context(CaptureQueriesContext(connections[alias]))
            for alias in ("default", "other")
        ]
        yield
    assert [query for queries in captured for query in queries.captured_queries] == []
    for alias in ("default", "other"):
        assert not Sequence.objects.using(alias).exists()


# Values


def test_assign_next_value_writes_the_number_to_the_row_and_the_instance(in_transaction):
    with transaction.atomic():
        first = Document.objects.create(kind="a")
        second = Document.objects.create(kind="b")
        assert assign_next_value(first, "number", "docs") == 1
        assert assign_next_value(second, "number", "docs") == 2
    assert (first.number, second.number) == (1, 2)
    assert stored_numbers() == [1, 2]
    assert get_last_value("docs") == 2


def test_assign_next_value_passes_initial_and_reset_values(in_transaction):
    values = []
    with transaction.atomic():
        for _ in range(4):
            document = Document.objects.create()
            values.append(assign_next_value(document, "number", "week", 5, 8))
    assert values == [5, 6, 7, 5]
    assert stored_numbers() == values


def test_assign_next_value_sends_the_draw_then_one_update(in_transaction):
    with transaction.atomic():
        document = Document.objects.create()
        with CaptureQueriesContext(connections["default"]) as queries:
            assign_next_value(document, "number", "docs")
    sql = [query["sql"] for query in queries.captured_queries]
    assert len(sql) == 2, sql
    assert "sequences_sequence" in sql[0]
    assert sql[1].startswith("UPDATE ") and Document._meta.db_table in sql[1]


def test_rollback_gives_the_assigned_number_back(in_transaction):
    with pytest.raises(Rollback), transaction.atomic():
        document = Document.objects.create()
        assert assign_next_value(document, "number", "docs") == 1
        raise Rollback
    assert get_last_value("docs") is None
    with transaction.atomic():
        document = Document.objects.create()
        assert assign_next_value(document, "number", "docs") == 1
    assert stored_numbers() == [1]


def test_assign_next_value_on_the_instances_other_database(in_transaction):
    with transaction.atomic(using="other"):
        document = Document.objects.using("other").create()
        assert assign_next_value(document, "number", "docs", using="other") == 1
    assert stored_numbers("other") == [1]
    assert get_last_value("docs", using="other") == 1
    assert get_last_value("docs", using="default") is None


# Refusals, before any SQL


@pytest.fixture
def saved(in_transaction) -> dict[str, Any]:
    """Saved rows to refuse, made before the statements are counted."""
    return {
        "document": Document.objects.create(),
        "numbered": Document.objects.create(number=7),
        "ticket": Ticket.objects.create(number=1),
        "group": Group.objects.create(name="g"),
        "elsewhere": Document.objects.using("other").create(),
    }


REFUSALS: dict[str, tuple[Callable[[dict[str, Any]], object], type[Exception], str]] = {
    "not a model instance": (
        lambda rows: assign_next_value(object(), "number"),  # type: ignore[arg-type]
        TypeError,
        "instance must be a saved model instance",
    ),
    "field name not a str": (
        lambda rows: assign_next_value(rows["document"], 3),  # type: ignore[arg-type]
        TypeError,
        "field_name must be a str",
    ),
    "unsaved instance": (
        lambda rows: assign_next_value(Document(), "number"),
        ValueError,
        "is not saved (its pk is None)",
    ),
    "pk set, never saved": (
        lambda rows: assign_next_value(Document(pk=123), "number"),
        ValueError,
        "pk=123 is not saved (it was built, never saved or loaded)",
    ),
    "series: pk set, never saved": (
        lambda rows: NumberSeries("s", format="S{value}").assign(Document(pk=123), "reference"),
        ValueError,
        "pk=123 is not saved",
    ),
    "series: a field that holds no text": (
        lambda rows: NumberSeries("s", format="S{value}").assign(rows["document"], "number"),
        TypeError,
        "testapp.Document.number is a BigIntegerField, which cannot hold a formatted number: "
        "NumberSeries.assign writes text, so the field must be a CharField or a TextField",
    ),
    "unknown field": (
        lambda rows: assign_next_value(rows["document"], "numbr"),
        ValueError,
        "has no field 'numbr'; its nullable number fields are: number, reference",
    ),
    "reverse relation": (
        lambda rows: assign_next_value(rows["group"], "user"),
        ValueError,
        "cannot hold a number",
    ),
    "primary key": (
        lambda rows: assign_next_value(rows["document"], "id"),
        ValueError,
        "cannot hold a number",
    ),
    "not nullable": (
        lambda rows: assign_next_value(rows["ticket"], "number"),
        ValueError,
        "must be nullable (null=True)",
    ),
    "already numbered": (
        lambda rows: assign_next_value(rows["numbered"], "number"),
        ValueError,
        "already has number=7",
    ),
    "row on another database than the sequence": (
        lambda rows: assign_next_value(rows["elsewhere"], "number"),
        ValueError,
        "is on database 'other' but the sequence would be on the router's 'default'",
    ),
    "sequence on another database than the row": (
        lambda rows: assign_next_value(rows["document"], "number", using="other"),
        ValueError,
        "is on database 'default' but the sequence would be on using='other'",
    ),
    "unknown database": (
        lambda rows: assign_next_value(rows["document"], "number", using="nope"),
        ValueError,
        "using must name a database",
    ),
    "bad initial value": (
        lambda rows: assign_next_value(rows["document"], "number", initial_value=-1),
        ValueError,
        "initial_value",
    ),
    "nowait and timeout": (
        lambda rows: assign_next_value(rows["document"], "number", nowait=True, timeout=1),
        ValueError,
        "Pass nowait=True or timeout, not both",
    ),
    "series: scope it has not": (
        lambda rows: NumberSeries("s", format="S{value}").assign(
            rows["document"], "reference", scope="x"
        ),
        ValueError,
        "has no scopes",
    ),
    "series: a datetime": (
        lambda rows: NumberSeries("s", format="S{value}").assign(
            rows["document"],
            "reference",
            date=datetime.datetime(2026, 1, 1),
        ),
        TypeError,
        "date must be a datetime.date",
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_assign_refuses_before_any_sql(saved, case):
    call, error, message = REFUSALS[case]
    with transaction.atomic(), no_sql(), pytest.raises(error) as raised:
        call(saved)
    assert message in str(raised.value)
    assert Document.objects.get(pk=saved["document"].pk).number is None


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
@pytest.mark.parametrize(
    "assign",
    [
        lambda document: assign_next_value(document, "number"),
        lambda document: NumberSeries("s", format="S{value}").assign(document, "reference"),
    ],
    ids=["assign_next_value", "NumberSeries.assign"],
)
def test_assign_refuses_autocommit(assign):
    document = Document.objects.create()
    with no_sql(), pytest.raises(OutsideTransaction) as raised:
        assign(document)
    assert "outside transaction.atomic()" in str(raised.value)
    assert "transaction.atomic(using='default')." in str(raised.value)


# The row changed since it was saved: the draw is given back


def test_a_deleted_row_raises_and_gives_the_number_back(in_transaction):
    with transaction.atomic():
        document = Document.objects.create()
        Document.objects.filter(pk=document.pk).delete()
        with pytest.raises(Document.DoesNotExist, match="does not exist on database 'default'"):
            assign_next_value(document, "number", "docs")
        # Caught inside the block: the block is marked for rollback anyway.
        assert transaction.get_rollback()
    assert get_last_value("docs") is None
    assert document.number is None


def test_a_row_numbered_meanwhile_is_not_overwritten(in_transaction):
    with transaction.atomic():
        document = Document.objects.create()
        Document.objects.filter(pk=document.pk).update(number=99)
        with pytest.raises(ValueError, match="already has a number"):
            assign_next_value(document, "number", "docs")
        assert transaction.get_rollback()
    assert get_last_value("docs") is None


# NumberSeries.assign


def test_series_assign_stores_the_formatted_number(in_transaction):
    series = NumberSeries("inv", format="INV-{year}-{scope}-{value:04d}", period="year")
    with transaction.atomic():
        document = Document.objects.create()
        number = series.assign(document, "reference", date=datetime.date(2026, 5, 1), scope="eu")
    assert isinstance(number, SeriesNumber)
    assert document.reference == str(number) == "INV-2026-eu-0001"
    assert Document.objects.get().reference == "INV-2026-eu-0001"
    assert get_last_value("inv.2026.eu") == 1


def test_series_assign_uses_the_series_database(in_transaction):
    series = NumberSeries("inv", format="I{value}", using="other")
    with transaction.atomic(using="other"):
        document = Document.objects.using("other").create()
        assert str(series.assign(document, "reference")) == "I1"
    assert get_last_value("inv", using="other") == 1


def test_series_assign_refuses_a_number_longer_than_the_column(in_transaction):
    series = NumberSeries("long", format="X" * 95 + "{value:06d}")
    with transaction.atomic():
        document = Document.objects.create()
        with pytest.raises(ValueError, match="holds at most 100 characters"):
            series.assign(document, "reference")
        assert transaction.get_rollback()
    assert get_last_value("long") is None


# Concurrency: the sequence is held only from the draw to the commit


class Timeline:
    def __init__(self) -> None:
        self.log: list[str] = []
        self.values: dict[str, int] = {}
        self.lock = threading.Lock()
        self.events = {
            name: threading.Event()
            for name in ("a saved", "a may draw", "a drew", "a may commit", "c drawing")
        }

    def record(self, entry: str) -> None:
        with self.lock:
            self.log.append(entry)
        if entry in self.events:
            self.events[entry].set()

    def thread(self, target: Callable[[], None]) -> threading.Thread:
        def run() -> None:
            try:
                target()
            finally:
                connections.close_all()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread


def draw_last(timeline: Timeline, who: str) -> None:
    with transaction.atomic():
        document = Document.objects.create(kind=who)
        timeline.record(f"{who} drawing")
        timeline.values[who] = assign_next_value(document, "number", "hot")
        timeline.record(f"{who} drew")
    timeline.record(f"{who} committed")


@pytest.mark.backends("postgresql", "mariadb")
@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_draw_last_blocks_the_next_draw_only_for_the_tail():
    timeline = Timeline()
    events = timeline.events

    def first() -> None:
        # Saves its row, "works" until told, then draws last and holds the tail.
        with transaction.atomic():
            document = Document.objects.create(kind="a")
            timeline.record("a saved")
            events["a saved"].set()
            assert events["a may draw"].wait(30)
            timeline.values["a"] = assign_next_value(document, "number", "hot")
            timeline.record("a drew")
            events["a drew"].set()
            assert events["a may commit"].wait(30)
        timeline.record("a committed")

    a = timeline.thread(first)
    assert events["a saved"].wait(30)
    # While A works (its row saved, no number yet), B draws and commits.
    b = timeline.thread(lambda: draw_last(timeline, "b"))
    b.join(30)
    assert not b.is_alive(), "B waited for A's work: the sequence was held before the draw"
    events["a may draw"].set()
    assert events["a drew"].wait(30)
    # A holds the sequence only now, in its tail: C waits for A's commit.
    c = timeline.thread(lambda: draw_last(timeline, "c"))
    assert events["c drawing"].wait(30)
    c.join(0.5)
    assert c.is_alive(), "C drew while A held the sequence"
    timeline.record("release")
    events["a may commit"].set()
    a.join(30)
    c.join(30)
    assert not a.is_alive() and not c.is_alive()
    cut = timeline.log.index("release") + 1
    before, after = timeline.log[:cut], timeline.log[cut:]
    assert before == [
        "a saved",
        "b drawing",
        "b drew",
        "b committed",
        "a drew",
        "c drawing",
        "release",
    ]
    # A's commit lets C through; the threads may log it in either order.
    assert sorted(after) == ["a committed", "c committed", "c drew"]
    assert after.index("c drew") < after.index("c committed")
    assert timeline.values == {"b": 1, "a": 2, "c": 3}
    assert sorted(stored_numbers()) == [1, 2, 3]
    assert get_last_value("hot") == 3


@pytest.mark.backends("sqlite")
@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_on_sqlite_the_first_write_locks_the_database_so_drawing_last_gains_nothing():
    timeline = Timeline()
    events = timeline.events

    def first() -> None:
        with transaction.atomic():
            document = Document.objects.create(kind="a")
            timeline.record("a saved")
            events["a saved"].set()
            assert events["a may draw"].wait(30)
            timeline.values["a"] = assign_next_value(document, "number", "hot")
        timeline.record("a committed")

    a = timeline.thread(first)
    assert events["a saved"].wait(30)
    b = timeline.thread(lambda: draw_last(timeline, "b"))
    b.join(0.5)
    assert b.is_alive(), "B wrote while A held SQLite's write lock"
    timeline.record("release")
    events["a may draw"].set()
    a.join(30)
    b.join(30)
    assert not a.is_alive() and not b.is_alive()
    assert timeline.log[:2] == ["a saved", "release"]
    assert timeline.values == {"a": 1, "b": 2}
    assert sorted(stored_numbers()) == [1, 2]
