"""reset_sequence: the one audited way to change a sequence by hand."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connections
from django.test.utils import CaptureQueriesContext

from sequences import SequenceValueChanged, get_last_value, get_next_value, reset_sequence
from sequences.models import SequenceChange


def test_sets_the_next_value(in_transaction):
    get_next_value("inv")
    reset_sequence("inv", 100, expected_last=1, reason="new fiscal year")
    assert get_next_value("inv") == 100


def test_creates_a_missing_sequence(in_transaction):
    reset_sequence("new", 50, expected_last=None, reason="start")
    assert get_last_value("new") == 49
    assert get_next_value("new") == 50


def test_returns_and_writes_the_audit_record(in_transaction):
    get_next_values_to("inv", 5)
    change = reset_sequence("inv", 10, expected_last=5, reason="skip ahead")
    stored = SequenceChange.objects.get()
    assert stored.pk == change.pk
    assert stored.sequence_name == "inv"
    assert stored.database == "default"
    assert stored.action == "reset"
    assert stored.source == "code"
    assert (stored.last_before, stored.last_after) == (5, 9)
    assert stored.reason == "skip ahead"
    assert stored.allow_reuse is False
    assert stored.user_id is None
    assert stored.username == ""
    assert stored.created_at is not None


def test_records_the_user_as_id_and_username_snapshot(in_transaction):
    user = User.objects.create(username="alice")
    reset_sequence("inv", 3, expected_last=None, reason="r", user=user, source="admin")
    user_pk = user.pk
    user.delete()
    change = SequenceChange.objects.get()
    assert (change.user_id, change.username, change.source) == (str(user_pk), "alice", "admin")


def test_username_without_user_object(in_transaction):
    reset_sequence("inv", 3, expected_last=None, reason="r", username="ops (manage.py)")
    assert SequenceChange.objects.get().username == "ops (manage.py)"


def test_refuses_when_the_value_moved(in_transaction):
    get_next_values_to("inv", 3)
    with pytest.raises(SequenceValueChanged, match="expected last value 2, found 3"):
        reset_sequence("inv", 10, expected_last=2, reason="r")
    assert get_last_value("inv") == 3
    assert not SequenceChange.objects.exists()


def test_refuses_when_a_sequence_expected_missing_exists(in_transaction):
    get_next_value("inv")
    with pytest.raises(SequenceValueChanged, match=r"expected last value \(sequence does not"):
        reset_sequence("inv", 10, expected_last=None, reason="r")


def test_refuses_when_an_expected_sequence_is_missing(in_transaction):
    with pytest.raises(SequenceValueChanged, match=r"found \(sequence does not exist\)"):
        reset_sequence("inv", 10, expected_last=4, reason="r")
    assert get_last_value("inv") is None


def test_refuses_to_move_back_without_allow_reuse(in_transaction):
    get_next_values_to("inv", 8)
    with pytest.raises(ValueError, match="would issue 5 to 8 again; pass allow_reuse=True"):
        reset_sequence("inv", 5, expected_last=8, reason="oops")
    assert get_last_value("inv") == 8
    assert not SequenceChange.objects.exists()


def test_names_a_single_reissued_value(in_transaction):
    get_next_values_to("inv", 8)
    with pytest.raises(ValueError, match="would issue 8 again"):
        reset_sequence("inv", 8, expected_last=8, reason="oops")


def test_moves_back_with_allow_reuse_and_records_it(in_transaction):
    get_next_values_to("inv", 8)
    reset_sequence("inv", 5, expected_last=8, reason="voided 5-8", allow_reuse=True)
    assert get_next_value("inv") == 5
    assert SequenceChange.objects.get().allow_reuse is True


def test_allow_reuse_is_recorded_only_when_values_are_reissued(in_transaction):
    get_next_values_to("inv", 8)
    reset_sequence("inv", 20, expected_last=8, reason="forward", allow_reuse=True)
    assert SequenceChange.objects.get().allow_reuse is False


def test_setting_the_same_next_value_is_allowed(in_transaction):
    get_next_values_to("inv", 8)
    reset_sequence("inv", 9, expected_last=8, reason="no-op, recorded")
    assert get_next_value("inv") == 9


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_reset_needs_a_reason(in_transaction, reason):
    with pytest.raises(ValueError, match="reason is required for a reset"):
        reset_sequence("inv", 3, expected_last=None, reason=reason)


def test_init_and_seed_do_not_need_a_reason(in_transaction):
    reset_sequence("a", 3, expected_last=None, reason="", action="init", source="command")
    reset_sequence("b", 3, expected_last=None, reason="", action="seed", source="migration")
    assert sorted(SequenceChange.objects.values_list("action", flat=True)) == ["init", "seed"]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"next_value": 0}, ValueError, "next_value must be between 1 and"),
        ({"next_value": "5"}, TypeError, "next_value must be an int"),
        ({"next_value": 2**63}, ValueError, "next_value must be between 1 and"),
        ({"expected_last": -1}, ValueError, "expected_last must be between 0 and"),
        ({"reason": None}, TypeError, "reason must be a str"),
        ({"allow_reuse": "no"}, TypeError, "allow_reuse must be True or False, got str: 'no'"),
        ({"allow_reuse": 1}, TypeError, "allow_reuse must be True or False, got int"),
        ({"action": "delete"}, ValueError, "action must be one of 'init', 'reset', 'seed'"),
        ({"action": "collation"}, ValueError, "action must be one of 'init', 'reset', 'seed'"),
        ({"source": "cron"}, ValueError, "source must be one of admin, command, migration, code"),
        ({"sequence_name": ""}, ValueError, "sequence_name must be 1 to 100"),
    ],
)
def test_bad_arguments_are_refused_before_any_query(db, kwargs, error, message):
    arguments: dict[str, Any] = {
        "sequence_name": "s",
        "next_value": 5,
        "expected_last": None,
        "reason": "r",
    }
    arguments.update(kwargs)
    name, next_value = arguments.pop("sequence_name"), arguments.pop("next_value")
    with (
        CaptureQueriesContext(connections["default"]) as queries,
        pytest.raises(error, match=message),
    ):
        reset_sequence(name, next_value, **arguments)
    assert len(queries) == 0


def test_rolls_back_with_the_callers_transaction(db):
    from django.db import transaction

    get_next_value("inv")
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        reset_sequence("inv", 100, expected_last=1, reason="r")
        raise ZeroDivisionError("roll back")
    assert get_last_value("inv") == 1
    assert not SequenceChange.objects.exists()


def get_next_values_to(name: str, last: int) -> None:
    from sequences import get_next_values

    get_next_values(last, name)
