"""Any name a caller can type is data: it round-trips, or is refused before any SQL."""

from __future__ import annotations

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sequences import get_last_value, get_next_value

# Every code point but NUL and lone surrogates, which are refused before any
# SQL (tests/test_validation.py); weighted towards the ones that break SQL.
names = st.text(
    alphabet=st.one_of(
        st.sampled_from("'\"\\`%;-_ /*?{}()$\t\n\r"),
        st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
    ),
    min_size=1,
    max_size=100,
)

HYPOTHESIS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


class Done(Exception):
    """Rolls each example back, so that every example starts from nothing."""


@pytest.mark.django_db
@HYPOTHESIS
@given(name=names)
def test_any_name_round_trips(name):
    with pytest.raises(Done), transaction.atomic():
        assert get_next_value(name) == 1
        assert get_next_value(name, nowait=True) == 2
        assert get_last_value(name) == 2
        raise Done


@pytest.mark.django_db
@HYPOTHESIS
@given(name=names)
def test_names_that_differ_are_different_sequences(name):
    variants = {name, name.upper(), name.lower(), name.casefold(), name + " ", " " + name}
    variants = {variant for variant in variants if len(variant) <= 100}
    with pytest.raises(Done), transaction.atomic():
        for variant in variants:
            assert get_next_value(variant) == 1, f"{variant!r} shares a sequence"
        raise Done


@pytest.mark.parametrize(
    "names",
    [
        ["invoice", "Invoice", "INVOICE"],
        ["cafe", "café", "cafe\u0301"],
        ["x", "x ", " x", "x\t"],
        ["ß", "ss", "SS"],
    ],
)
def test_case_accents_and_spaces_matter(in_transaction, names):
    assert [get_next_value(name) for name in names] == [1] * len(names)
