"""The bookkeeping behind ``sequences.signals.commit_not_replicated``, on the test server.

The real warning needs a synchronous standby whose wait is cancelled: that is
``tests/multiserver/test_unreplicated_commit.py`` (``make test-failover``).
Here the test server itself sends a WARNING with the same text (``RAISE
WARNING`` in a ``DO`` block), through the real driver, to check which draws
are reported and when: only committed transactions, only their own draws,
never a stale warning. Runs with psycopg 3 (``make test``) and psycopg2
(``make test-django6``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections, transaction
from django.test import override_settings

from sequences import get_next_value, get_next_value_many, get_next_values
from sequences.replication import ATTRIBUTE, CANCELLED_WAIT
from sequences.signals import commit_not_replicated

pytestmark = [pytest.mark.backends("postgresql"), pytest.mark.django_db(transaction=True)]

WARN = f"DO $$ BEGIN RAISE WARNING '{CANCELLED_WAIT} due to user request'; END $$"
OTHER_WARNING = "DO $$ BEGIN RAISE WARNING 'something else'; END $$"


class Rollback(Exception):
    pass


@pytest.fixture
def reports() -> Iterator[list[dict[str, Any]]]:
    received: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        received.append({"sender": sender, **kwargs})

    commit_not_replicated.connect(receiver)
    yield received
    commit_not_replicated.disconnect(receiver)


def warn(sql: str = WARN) -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute(sql)


def test_a_warning_in_a_committed_transaction_reports_its_draws(reports, caplog) -> None:
    from sequences.models import Sequence

    with caplog.at_level(logging.CRITICAL, logger="sequences"), transaction.atomic():
        get_next_value("invoices")
        get_next_values(3, "orders")
        warn()
        assert reports == []  # not before the commit
    [report] = reports
    assert report["sender"] is Sequence and report["using"] == "default"
    assert report["draws"] == (("invoices", range(1, 2)), ("orders", range(1, 4)))
    assert CANCELLED_WAIT in report["message"]
    [record] = caplog.records
    assert record.levelname == "CRITICAL"
    assert "invoices 1, orders 1 to 3" in record.getMessage()


def test_draws_of_get_next_value_many_are_reported(reports) -> None:
    with transaction.atomic():
        get_next_value("orders")
        assert get_next_value_many(["orders", "invoices"]) == {"orders": 2, "invoices": 1}
        warn()
    [report] = reports
    assert report["draws"] == (  # in the order drawn: the many call locks in sorted order
        ("orders", range(1, 2)),
        ("invoices", range(1, 2)),
        ("orders", range(2, 3)),
    )


def test_ordinary_commits_and_other_warnings_report_nothing(reports) -> None:
    get_next_value("invoices")
    with transaction.atomic():
        get_next_value("invoices")
        warn(OTHER_WARNING)
    assert reports == []


def test_a_rolled_back_transaction_reports_nothing_and_leaves_nothing_behind(reports) -> None:
    with pytest.raises(Rollback), transaction.atomic():
        get_next_value("invoices")
        warn()
        raise Rollback
    with transaction.atomic():
        get_next_value("invoices")
    assert reports == []
    with transaction.atomic():
        assert get_next_value("invoices") == 2
        warn()
    [report] = reports
    assert report["draws"] == (("invoices", range(2, 3)),)


def test_a_warning_before_the_first_draw_is_not_the_transactions(reports) -> None:
    with transaction.atomic():
        warn()  # a transaction that drew nothing: not reported
    with transaction.atomic():
        warn()
        get_next_value("invoices")
    assert reports == []


def test_draws_rolled_back_with_their_savepoint_are_not_reported(reports) -> None:
    with transaction.atomic():
        with pytest.raises(Rollback), transaction.atomic():
            get_next_value("invoices")
            raise Rollback
        assert get_next_value("invoices") == 1
        get_next_value("orders")
        warn()
    [report] = reports
    assert report["draws"] == (("invoices", range(1, 2)), ("orders", range(1, 2)))


def test_the_setting_turns_the_watch_off(reports) -> None:
    connection = connections["default"]
    with override_settings(SEQUENCES_REPORT_UNREPLICATED_COMMITS=False):
        connection.close()
        connection.ensure_connection()
        assert ATTRIBUTE not in connection.__dict__
        with transaction.atomic():
            get_next_value("invoices")
            warn()
        assert reports == []
        connection.close()
    connection.ensure_connection()
    assert ATTRIBUTE in connection.__dict__
