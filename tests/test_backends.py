"""Which statement each vendor gets."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from sequences import get_next_value
from sequences.backends import generic, get_draw_function


@pytest.mark.parametrize("vendor_name", ["oracle", "microsoft", "cockroachdb"])
def test_other_vendors_get_the_orm_fallback(vendor_name):
    assert get_draw_function(SimpleNamespace(vendor=vendor_name)) is generic.draw  # type: ignore[arg-type]


def test_sqlite_without_returning_gets_the_orm_fallback(monkeypatch):
    from sequences.backends import sqlite

    monkeypatch.setattr(sqlite, "supports_returning", lambda connection: False)
    assert get_draw_function(SimpleNamespace(vendor="sqlite")) is generic.draw  # type: ignore[arg-type]


@pytest.mark.backends("mariadb")
def test_mysql_nowait_takes_the_orm_path(in_transaction, monkeypatch):
    """MySQL has no per-statement lock timeout, so nowait uses SELECT ... FOR UPDATE NOWAIT.

    MariaDB stands in for MySQL, with its own per-statement timeout turned off.
    """
    connection = connections["default"]
    get_next_value("mysql")
    monkeypatch.setattr(connection, "mysql_is_mariadb", False)
    with CaptureQueriesContext(connection) as queries:
        assert get_next_value("mysql", nowait=True) == 2
    assert any("FOR UPDATE NOWAIT" in query["sql"] for query in queries.captured_queries)
