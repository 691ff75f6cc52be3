"""NumberSeries: formatted numbers, one sequence per period and scope."""

from __future__ import annotations

import datetime

import pytest
from django.db import transaction
from django.test import override_settings
from hypothesis import given, settings
from hypothesis import strategies as st

import sequences
from sequences import NumberSeries, SeriesNumber, get_last_value
from sequences.models import Sequence

D = datetime.date


def fiscal_year(date: datetime.date) -> str:
    """April to March, named after the year it starts in."""
    return str(date.year if date.month >= 4 else date.year - 1)


class Rollback(Exception):
    pass


def draw_and_roll_back(series: NumberSeries, date: datetime.date, scope: str | None = None):
    with pytest.raises(Rollback), transaction.atomic():
        series.next(date, scope)
        raise Rollback


# Drawing


def test_next_formats_the_value_and_keeps_the_parts(in_transaction):
    invoices = NumberSeries("invoices", format="INV-{year}-{value:04d}", period="year")
    number = invoices.next(D(2026, 3, 14))
    assert isinstance(number, SeriesNumber)
    assert str(number) == "INV-2026-0001"
    assert (number.value, number.sequence_name, number.period, number.scope) == (
        1,
        "invoices.2026",
        "2026",
        None,
    )
    assert str(invoices.next(D(2026, 12, 1))) == "INV-2026-0002"


def test_year_rollover_starts_again_and_rollbacks_give_values_back(in_transaction):
    invoices = NumberSeries("invoices", format="INV-{year}-{value:04d}", period="year")
    assert str(invoices.next(D(2025, 12, 31))) == "INV-2025-0001"
    draw_and_roll_back(invoices, D(2025, 12, 31))
    assert str(invoices.next(D(2026, 1, 1))) == "INV-2026-0001"
    draw_and_roll_back(invoices, D(2026, 1, 1))
    assert str(invoices.next(D(2026, 1, 1))) == "INV-2026-0002"
    assert str(invoices.next(D(2025, 12, 31))) == "INV-2025-0002"
    assert get_last_value("invoices.2025") == 2
    assert get_last_value("invoices.2026") == 2


@pytest.mark.parametrize(
    ("period", "fmt", "names"),
    [
        ("month", "{year}/{month:02d}/{value}", ("m.2025-12", "m.2026-01")),
        ("day", "{period}-{value}", ("m.2025-12-31", "m.2026-01-01")),
    ],
)
def test_month_and_day_rollover(in_transaction, period, fmt, names):
    series = NumberSeries("m", format=fmt, period=period)
    first = series.next(D(2025, 12, 31))
    draw_and_roll_back(series, D(2025, 12, 31))
    second = series.next(D(2026, 1, 1))
    draw_and_roll_back(series, D(2026, 1, 1))
    assert (first.sequence_name, first.value) == (names[0], 1)
    assert (second.sequence_name, second.value) == (names[1], 1)
    assert series.next(D(2026, 1, 1)).value == 2
    assert series.next(D(2025, 12, 31)).value == 2


def test_named_period_fields():
    series = NumberSeries("d", format="{period}|{year}|{month}|{day}|{value}", period="day")
    assert series.render(7, D(2026, 3, 5)) == "2026-03-05|2026|3|5|7"
    assert NumberSeries("m", format="{period}-{value}", period="month").render(
        1, D(2026, 3, 5)
    ) == ("2026-03-1")


def test_no_period_is_one_sequence(in_transaction):
    series = NumberSeries("orders", format="ORD{value:06d}")
    assert str(series.next(D(2025, 1, 1))) == "ORD000001"
    assert str(series.next(D(2026, 1, 1))) == "ORD000002"
    assert series.sequence_name() == "orders"


def test_initial_value_starts_each_period(in_transaction):
    series = NumberSeries("q", format="Q{year}-{value}", period="year", initial_value=100)
    assert series.next(D(2026, 1, 1)).value == 100
    assert series.next(D(2027, 1, 1)).value == 100


def test_scopes_are_numbered_apart(in_transaction):
    series = NumberSeries("shop", format="{scope}-{year}-{value}", period="year")
    assert str(series.next(D(2026, 1, 1), "paris")) == "paris-2026-1"
    assert str(series.next(D(2026, 1, 1), "lyon")) == "lyon-2026-1"
    assert str(series.next(D(2026, 1, 1), "paris")) == "paris-2026-2"
    draw_and_roll_back(series, D(2026, 1, 1), "lyon")
    assert str(series.next(D(2026, 1, 1), "lyon")) == "lyon-2026-2"
    assert series.sequence_name(D(2026, 1, 1), "paris") == "shop.2026.paris"
    assert get_last_value("shop.2026.paris") == 2
    assert get_last_value("shop.2026.lyon") == 2


def test_fiscal_year_callable(in_transaction):
    series = NumberSeries("fy", format="FY{period}-{value}", period=fiscal_year)
    assert str(series.next(D(2026, 3, 31))) == "FY2025-1"
    assert str(series.next(D(2026, 4, 1))) == "FY2026-1"
    assert str(series.next(D(2026, 3, 1))) == "FY2025-2"
    assert series.sequence_name(D(2027, 3, 31)) == "fy.2026"


def test_week_callable(in_transaction):
    def week(date: datetime.date) -> str:
        year, number, _ = date.isocalendar()
        return f"{year}-W{number:02d}"

    series = NumberSeries("w", format="{period}/{value}", period=week)
    # 2026-12-31 is in ISO week 53 of 2026; 2027-01-04 starts week 1 of 2027.
    assert str(series.next(D(2026, 12, 31))) == "2026-W53/1"
    assert str(series.next(D(2027, 1, 1))) == "2026-W53/2"
    assert str(series.next(D(2027, 1, 4))) == "2027-W01/1"


def test_date_defaults_to_local_today(in_transaction):
    series = NumberSeries("t", format="{period}-{value}", period="day")
    with override_settings(USE_TZ=True, TIME_ZONE="Pacific/Kiritimati"):
        from django.utils import timezone

        expected = timezone.localdate()
        assert series.next().sequence_name == f"t.{expected.isoformat()}"
    with override_settings(USE_TZ=False):
        assert series.sequence_name() == f"t.{datetime.date.today().isoformat()}"


def test_next_passes_using_and_nowait(db_mode):
    series = NumberSeries("o", format="{year}-{value}", period="year", using="other")
    series.next(D(2026, 1, 1), nowait=True)
    assert get_last_value("o.2026", using="other") == 1
    assert get_last_value("o.2026", using="default") is None
    series.next(D(2026, 1, 1), using="default")
    assert get_last_value("o.2026", using="default") == 1


# Names


def test_sequence_name_is_documented_shape():
    series = NumberSeries("billing.invoice", format="INV-{year}-{value:04d}", period="year")
    assert series.sequence_name(D(2026, 6, 1)) == "billing.invoice.2026"


def test_series_name_too_long_for_its_periods_is_refused_at_definition():
    with pytest.raises(ValueError, match="would be 101 characters long"):
        NumberSeries("x" * 90, format="{period}-{value}", period="day")
    NumberSeries("x" * 89, format="{period}-{value}", period="day")


def test_scope_too_long_is_refused_before_any_sql(in_transaction):
    series = NumberSeries("s" * 90, format="{scope}/{value}")
    with pytest.raises(ValueError, match="at most 100"):
        series.next(scope="paris-north")
    assert not Sequence.objects.exists()


def test_split_sequence_name_reads_names_back():
    series = NumberSeries("shop", format="{scope}-{period}-{value}", period="month")
    assert series.split_sequence_name("shop.2026-03.paris") == ("2026-03", "paris")
    assert series.split_sequence_name("shop.2026-03") is None
    assert series.split_sequence_name("shop.2026.paris") is None
    assert series.split_sequence_name("shopx.2026-03.paris") is None


# Definition errors


@pytest.mark.parametrize(
    ("fmt", "period", "message"),
    [
        ("INV-{year}", "year", "must contain {value}"),
        ("INV-{value}", "month", "would number two months alike"),
        ("{year}-{value}", "month", "lacks {month}"),
        ("{month:02d}-{value}", "month", "lacks {year}"),
        ("{year}{month:02d}-{value}", "day", "lacks {day}"),
        ("{year}-{value}", fiscal_year, "must contain {period}"),
        ("{period}-{value}", None, "period is None"),
        ("{value}{scope}", None, "cannot be read back unambiguously"),
        ("{scope}{value}", None, "cannot be read back unambiguously"),
        ("{year}{month}{day}-{value}", "day", "cannot be read back unambiguously"),
        ("{period}{value}", fiscal_year, "cannot be read back unambiguously"),
        ("{scope}-{period}/{value}", fiscal_year, "cannot be read back unambiguously"),
        ("{value}-{vat}", None, "the fields allowed are"),
        ("{value}-{}", None, "name the fields"),
        ("{value:x}", None, "is not allowed"),
        ("{value!r}", None, "conversions"),
        ("{year:02d}-{value}", None, "use {year} or {year:04d}"),
        ("{value", None, "not a valid str.format template"),
        ("{value}", "week", "period must be None, 'year', 'month', 'day' or a callable"),
    ],
)
def test_definition_errors(fmt, period, message):
    with pytest.raises(ValueError, match=message.replace("{", r"\{").replace("}", r"\}")):
        NumberSeries("x", format=fmt, period=period)


@pytest.mark.parametrize(
    ("fmt", "period"),
    [
        ("PO{year}{month:02d}-{value}", "month"),
        ("{value}{year}", "year"),
        ("FY{period}-{value}", fiscal_year),
        ("{scope}-{year}-{value}", "year"),
        ("{value}-{scope}", None),
    ],
)
def test_unambiguous_formats_are_accepted(fmt, period):
    NumberSeries("x", format=fmt, period=period)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"name": 1}, TypeError),
        ({"name": ""}, ValueError),
        ({"format": b"{value}"}, TypeError),
        ({"initial_value": -1}, ValueError),
        ({"initial_value": "1"}, TypeError),
    ],
)
def test_definition_argument_types(kwargs, error):
    arguments = {"name": "x", "format": "{value}", **kwargs}
    name = arguments.pop("name")
    with pytest.raises(error):
        NumberSeries(name, **arguments)


# Call errors


@pytest.mark.parametrize(
    ("date", "scope", "error", "message"),
    [
        ("2026-01-01", "paris", TypeError, "date must be a datetime.date"),
        (datetime.datetime(2026, 1, 1), "paris", TypeError, "timezone.localdate"),
        (D(2026, 1, 1), 7, TypeError, "scope must be a str"),
        (D(2026, 1, 1), "paris.north", ValueError, "letters, digits"),
        (D(2026, 1, 1), "", ValueError, "letters, digits"),
        (D(2026, 1, 1), None, ValueError, "pass scope="),
        (D(999, 1, 1), "paris", ValueError, "years 1000 to 9999"),
    ],
)
def test_call_errors_come_before_any_sql(in_transaction, date, scope, error, message):
    series = NumberSeries("s", format="{scope}-{year}-{value}", period="year")
    with pytest.raises(error, match=message):
        series.next(date, scope)
    assert not Sequence.objects.exists()


def test_scope_without_scope_field_is_refused(in_transaction):
    series = NumberSeries("s", format="{year}-{value}", period="year")
    with pytest.raises(ValueError, match="has no scopes"):
        series.next(D(2026, 1, 1), "paris")
    assert not Sequence.objects.exists()


@pytest.mark.parametrize("key", ["2025/26", "", 2025, None])
def test_callable_returning_a_bad_key_is_refused(in_transaction, key):
    series = NumberSeries("fy", format="FY{period}-{value}", period=lambda date: key)
    with pytest.raises((TypeError, ValueError), match="key that period"):
        series.next(D(2026, 1, 1))
    assert not Sequence.objects.exists()


# Parsing


def test_parse_examples():
    invoices = NumberSeries("inv", format="INV-{year}-{value:04d}", period="year")
    assert invoices.parse("INV-2026-0042") == ("inv.2026", 42)
    assert invoices.parse("INV-2026-12345") == ("inv.2026", 12345)
    fy = NumberSeries("fy", format="FY{period}-{value}", period=fiscal_year)
    assert fy.parse("FY2025-1") == ("fy.2025", 1)


@pytest.mark.parametrize(
    "text",
    [
        "INV-2026-042",  # too little padding
        "INV-2026-00042",  # too much
        "INV-26-0042",
        "INV-2026-",
        "inv-2026-0042",
        "INV-2026-0042 ",
        "",
    ],
)
def test_parse_refuses_what_the_format_cannot_produce(text):
    invoices = NumberSeries("inv", format="INV-{year}-{value:04d}", period="year")
    with pytest.raises(ValueError):
        invoices.parse(text)


def test_parse_refuses_impossible_dates_and_disagreements():
    series = NumberSeries("d", format="{year}{month:02d}{day:02d}-{value}", period="day")
    assert series.parse("20260228-1") == ("d.2026-02-28", 1)
    with pytest.raises(ValueError, match="no real date"):
        series.parse("20260230-1")
    both = NumberSeries("b", format="{period}/{year}/{value}", period="year")
    with pytest.raises(ValueError, match="disagree"):
        both.parse("2026/2027/1")


def test_parse_refuses_non_str():
    with pytest.raises(TypeError):
        NumberSeries("x", format="{value}").parse(42)  # type: ignore[arg-type]


FORMATS = [
    ("INV-{year}-{value:04d}", "year", False),
    ("PO{year}{month:02d}-{value}", "month", False),
    ("{period}/{value:02d}", "day", False),
    ("{value}{year}", "year", False),
    ("{day}.{month}.{year}#{value}", "day", False),
    ("FY{period}-{value}", fiscal_year, False),
    ("{scope}-{year}-{value:03d}", "year", True),
    ("{value}-{scope}", None, True),
    ("N{{{value}}}", None, False),
]


@settings(max_examples=300, deadline=None)
@given(
    choice=st.sampled_from(FORMATS),
    value=st.integers(min_value=0, max_value=2**63 - 1),
    date=st.dates(min_value=D(1000, 1, 1)),
    scope=st.text(
        alphabet=st.characters(categories=["L", "N"]) | st.sampled_from("_-"),
        min_size=1,
        max_size=20,
    ),
)
def test_parse_round_trips(choice, value, date, scope):
    fmt, period, scoped = choice
    series = NumberSeries("s", format=fmt, period=period)
    scope_argument = scope if scoped else None
    try:
        text = series.render(value, date, scope_argument)
    except ValueError:
        # Only scopes that \w does not accept (some categories of numbers).
        assert scoped
        return
    assert series.parse(text) == (series.sequence_name(date, scope_argument), value)


def test_exported_from_the_package():
    assert sequences.NumberSeries is NumberSeries
    assert "NumberSeries" in sequences.__all__


# The documentation's examples


def _doc_blocks(language: str) -> list[str]:
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "numbering.md").read_text()
    return [
        block.replace("\n  ", "\n")  # blocks indented under a list item
        for block in re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)
    ]


def test_documentation_python_examples_run(in_transaction):
    blocks = _doc_blocks("python")
    assert len(blocks) == 3
    namespace: dict[str, object] = {}
    exec(blocks[0], namespace)
    exec(blocks[1].lstrip(), namespace)
    # The third, NumberSeries.assign, uses the reader's own Invoice model:
    # tests/test_assign.py makes the same calls on a test model.
    compile(blocks[2], "docs/numbering.md", "exec")
    fy = namespace["FY"]
    assert isinstance(fy, NumberSeries)
    assert fy.render(1, D(2026, 3, 31)) == "FY2025-1"
    assert fy.render(1, D(2026, 4, 1)) == "FY2026-1"


def test_documentation_json_example_has_the_report_keys(in_transaction):
    import json

    from sequences import reset_sequence
    from sequences.check import check_sequence
    from tests.testapp.models import Document

    (example,) = _doc_blocks("json")
    documented = json.loads(example)
    Sequence.objects.create(name="s", last=1)
    reset_sequence("s", 5, expected_last=1, reason="documented")
    Document.objects.bulk_create([Document(number=1), Document(number=5)])
    Sequence.objects.filter(name="s").update(last=5)
    actual = check_sequence(Document, "number", "s").as_json()
    (span,) = actual["sequences"][0]["explained"]["spans"]
    documented_span = documented["sequences"][0]["explained"]["spans"][0]
    assert set(documented_span) == set(span)
    assert set(documented_span["change"]) == set(span["change"])
    assert set(documented) == set(actual)
    assert set(documented["sequences"][0]) == set(actual["sequences"][0])
    for key in ("missing", "duplicates", "ahead", "explained"):
        assert set(documented["sequences"][0][key]) == set(actual["sequences"][0][key])
