"""Bad input: a clear error naming the argument, raised before any SQL."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.utils.translation import gettext_lazy

from sequences import Sequence, delete, get_last_value, get_next_value, get_next_values

MAX = 2**63 - 1


class IntLike:
    """An integer that is not an ``int``, as NumPy's ``int64`` is (not installed here)."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __index__(self) -> int:
        return self.value

    def __int__(self) -> int:
        return self.value

    def __repr__(self) -> str:
        return f"IntLike({self.value})"


@pytest.fixture
def no_queries(db):
    with CaptureQueriesContext(connections["default"]) as queries:
        yield
    assert len(queries) == 0, queries.captured_queries


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        (None, TypeError, "sequence_name must be a str, got NoneType: None"),
        (42, TypeError, "sequence_name must be a str, got int: 42"),
        (b"bytes", TypeError, "sequence_name must be a str, got bytes"),
        (gettext_lazy("invoices"), TypeError, "sequence_name must be a str, got __proxy__"),
        ("", ValueError, "sequence_name must be 1 to 100 characters long, got 0"),
        ("x" * 101, ValueError, "sequence_name must be 1 to 100 characters long, got 101"),
        ("nul\x00byte", ValueError, "sequence_name must not contain NUL characters"),
        ("lone \ud800", ValueError, "sequence_name must be valid Unicode"),
    ],
)
@pytest.mark.parametrize("function", [get_next_value, get_last_value, delete, get_next_values])
def test_bad_names(no_queries, function, name, error, message):
    args = (1, name) if function is get_next_values else (name,)
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        function(*args)


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (-1, ValueError, "initial_value must be between 0 and 9223372036854775807, got -1"),
        (MAX + 1, ValueError, "initial_value must be between 0 and 9223372036854775807"),
        (True, TypeError, "initial_value must be an int, got bool: True"),
        (1.0, TypeError, "initial_value must be an int, got float: 1.0"),
        (Decimal("1"), TypeError, "initial_value must be an int, got Decimal"),
        ("1", TypeError, "initial_value must be an int, got str: '1'"),
        (IntLike(1), TypeError, "initial_value must be an int, got IntLike: IntLike"),
        (None, TypeError, "initial_value must be an int, got NoneType"),
    ],
)
def test_bad_initial_value(no_queries, value, error, message):
    with pytest.raises(error, match=message):
        get_next_value("s", initial_value=value)


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (-5, ValueError, "reset_value must be between 0 and"),
        (False, TypeError, "reset_value must be an int, got bool"),
        (10.5, TypeError, "reset_value must be an int, got float"),
        (MAX + 1, ValueError, "reset_value must be between 0 and 9223372036854775807"),
    ],
)
def test_bad_reset_value(no_queries, value, error, message):
    with pytest.raises(error, match=message):
        get_next_value("s", reset_value=value)


@pytest.mark.parametrize("reset_value", [0, 1])
def test_reset_value_must_be_greater_than_initial_value(no_queries, reset_value):
    with pytest.raises(ValueError, match="^reset_value must be greater than initial_value$"):
        get_next_value("s", initial_value=1, reset_value=reset_value)


@pytest.mark.parametrize(
    ("batch_size", "error", "message"),
    [
        (-1, ValueError, "batch_size must be between 0 and 9223372036854775807, got -1"),
        (2.0, TypeError, "batch_size must be an int, got float: 2.0"),
        ("3", TypeError, "batch_size must be an int, got str"),
        (True, TypeError, "batch_size must be an int, got bool"),
    ],
)
def test_bad_batch_size(no_queries, batch_size, error, message):
    with pytest.raises(error, match=message):
        get_next_values(batch_size, "s")


def test_batch_larger_than_the_reset_range(no_queries):
    with pytest.raises(
        ValueError, match=r"batch_size must be at most reset_value - initial_value \(4\), got 5"
    ):
        get_next_values(5, "s", 1, 5)


def test_batch_whose_first_values_would_pass_the_largest_value(no_queries):
    with pytest.raises(ValueError, match="initial_value \\+ batch_size - 1 must be at most"):
        get_next_values(2, "s", MAX)


def test_sequence_class_validates_its_options(no_queries):
    with pytest.raises(TypeError, match="sequence_name must be a str"):
        Sequence(1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="initial_value must be between"):
        Sequence("s", -1)


def test_unknown_database_alias_is_refused(db):
    from django.utils.connection import ConnectionDoesNotExist

    with pytest.raises(ConnectionDoesNotExist):
        get_next_value("s", using="nope")


def test_bad_input_writes_nothing(db):
    bad_arguments: list[dict[str, Any]] = [
        {"initial_value": -1},
        {"reset_value": 1},
        {"initial_value": "1"},
    ]
    for bad in bad_arguments:
        with pytest.raises((TypeError, ValueError)):
            get_next_value("untouched", **bad)
    assert get_last_value("untouched") is None


EDGES: list[Any] = [None, -1, 0, 1, 2, 5, MAX - 1, MAX, MAX + 1, True, False, 1.0, IntLike(3)]


@pytest.mark.parametrize("function", ["get_next_value", "get_next_values"])
def test_a_name_drawn_before_gets_every_check_of_the_other_arguments(db, function):
    """The draw checks the common argument types inline; what it refuses, check_arguments does.

    A name that passed once is not checked again, so the other arguments are
    the whole check: every combination of edge values that check_arguments
    refuses is refused the same way, before any SQL.
    """
    from sequences.validation import check_arguments

    get_next_value("seen")
    refused = 0
    with CaptureQueriesContext(connections["default"]) as queries:
        for initial in EDGES:
            for reset in EDGES:
                for batch in EDGES if function == "get_next_values" else [1]:
                    try:
                        check_arguments("seen", initial, reset, batch)
                    except (TypeError, ValueError) as exc:
                        expected: Exception = exc
                    else:
                        continue
                    refused += 1
                    with pytest.raises(type(expected)) as raised:
                        if function == "get_next_values":
                            get_next_values(batch, "seen", initial, reset)
                        else:
                            get_next_value("seen", initial, reset)
                    assert str(raised.value) == str(expected), (initial, reset, batch)
    assert len(queries) == 0, queries.captured_queries
    assert refused > 100
