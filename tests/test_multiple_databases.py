"""``using`` keeps sequences apart on every path, the ORM fallback included."""

from __future__ import annotations

import pytest
from django.test import override_settings

from sequences import (
    Sequence,
    delete,
    get_last_value,
    get_next_value,
    get_next_values,
    reset_sequence,
)
from sequences.models import SequenceChange


@pytest.mark.parametrize(
    "draw",
    [
        pytest.param(lambda **kw: get_next_value("s", **kw), id="plain"),
        pytest.param(lambda **kw: get_next_value("s", nowait=True, **kw), id="nowait"),
        pytest.param(lambda **kw: get_next_value("s", 1, 100, **kw), id="reset_value"),
        pytest.param(lambda **kw: get_next_values(3, "s", **kw)[-1], id="batch"),
        pytest.param(lambda **kw: Sequence("s", **kw).get_next_value(), id="class"),
    ],
)
def test_using_draws_from_that_database_only(in_transaction, draw_path, draw):
    assert draw(using="other") in (1, 3)
    assert get_last_value("s") is None
    assert get_last_value("s", using="other") is not None
    first_on_default = draw()
    assert get_last_value("s") == first_on_default


def test_delete_uses_the_given_database(in_transaction):
    get_next_value("s", using="other")
    get_next_value("s")
    assert delete("s", using="other") is True
    assert get_last_value("s") == 1
    assert get_last_value("s", using="other") is None
    assert SequenceChange.objects.using("other").get().action == "delete"
    assert not SequenceChange.objects.using("default").exists()


def test_reset_uses_the_given_database_for_value_and_audit(in_transaction):
    reset_sequence("s", 10, expected_last=None, reason="r", using="other")
    assert get_last_value("s", using="other") == 9
    assert get_last_value("s") is None
    assert SequenceChange.objects.using("other").get().database == "other"
    assert not SequenceChange.objects.using("default").exists()


class OtherRouter:
    """Sends the sequences app to the ``other`` database."""

    def db_for_read(self, model, **hints):
        return "other" if model._meta.app_label == "sequences" else None

    db_for_write = db_for_read


@override_settings(DATABASE_ROUTERS=[f"{__name__}.OtherRouter"])
def test_without_using_the_router_chooses(in_transaction, draw_path):
    assert get_next_value("routed") == 1
    assert get_next_values(2, "routed") == range(2, 4)
    assert get_last_value("routed") == 3
    assert get_last_value("routed", using="default") is None
    assert get_last_value("routed", using="other") == 3
    assert delete("routed") is True
    assert get_last_value("routed", using="other") is None
