from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections

ALL_DATABASES = ["default", "other"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "disruptive: restarts a database server; deselected unless SEQUENCES_DISRUPTIVE=1 "
        "(make test-faults)",
    )
    config.addinivalue_line(
        "markers",
        "multiserver: starts throwaway servers of its own; deselected unless "
        "SEQUENCES_MULTISERVER=1 (make test-failover)",
    )
    config.addinivalue_line(
        "markers",
        "backends(*names): run only on these backends (sqlite, postgresql, mariadb); "
        "on the others the test is deselected, not skipped",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from django.conf import settings

    backend = settings.BACKEND
    disruptive = os.environ.get("SEQUENCES_DISRUPTIVE") == "1"
    multiserver = os.environ.get("SEQUENCES_MULTISERVER") == "1"
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        marker = item.get_closest_marker("backends")
        wrong_backend = marker is not None and backend not in marker.args
        unwanted = (item.get_closest_marker("disruptive") is not None and not disruptive) or (
            item.get_closest_marker("multiserver") is not None and not multiserver
        )
        (dropped if wrong_backend or unwanted else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test that takes ``db_mode`` twice: in autocommit and in a transaction.

    ``autocommit``: a ``TransactionTestCase``, every statement commits on its
    own. ``transaction``: a ``TestCase``, the test runs inside an outer
    transaction (a savepoint per ``atomic`` block), as most application code does.
    """
    if "db_mode" in metafunc.fixturenames:
        metafunc.parametrize(
            "db_mode",
            [
                pytest.param(
                    "autocommit",
                    marks=pytest.mark.django_db(transaction=True, databases=ALL_DATABASES),
                ),
                pytest.param("transaction", marks=pytest.mark.django_db(databases=ALL_DATABASES)),
            ],
        )


@pytest.fixture
def in_transaction(db_mode: str) -> bool:
    """Whether the test body runs inside an outer transaction; checks it does."""
    connection = connections["default"]
    if db_mode == "autocommit":
        assert connection.get_autocommit() and not connection.in_atomic_block
        return False
    assert connection.in_atomic_block
    return True


@pytest.fixture
def vendor() -> str:
    connection = connections["default"]
    if connection.vendor == "mysql":
        return "mariadb" if connection.mysql_is_mariadb else "mysql"  # type: ignore[attr-defined]
    return connection.vendor


@pytest.fixture(params=["native", "orm"])
def draw_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test through the vendor's own statement and through the ORM fallback.

    The fallback serves backends without a fast path (Oracle, third-party
    ones); forcing it here keeps it tested on the servers this machine has.
    """
    if request.param == "orm":
        from sequences.backends import generic

        monkeypatch.setattr("sequences.api.get_draw_function", lambda connection: generic.draw)
        # get_next_value_many then draws name by name through the fallback.
        monkeypatch.setattr("sequences.api.get_draw_many_function", lambda connection: None)
    return str(request.param)


@pytest.fixture(autouse=True)
def _start_without_sequences(request: pytest.FixtureRequest) -> None:
    """Every test starts with no sequences and no audit records.

    The demo app's data migration seeds a sequence when the test database is
    migrated; tests that count or list sequences must not see it.
    """
    marker = request.node.get_closest_marker("django_db")
    direct = {"db", "transactional_db"} & set(request.fixturenames)
    if marker is None and not direct:
        return
    request.getfixturevalue("_django_db_helper")  # database access is set up first
    databases = (marker.kwargs.get("databases") if marker else None) or ["default"]
    if databases == "__all__":
        databases = ALL_DATABASES
    from sequences.models import Sequence, SequenceChange

    for alias in databases:
        Sequence.objects.using(alias).all().delete()
        SequenceChange.objects.using(alias).all().delete()


# Debian's Chromium, driven by Playwright (whose own browser download does
# not work on the machines this project is tested on).
CHROMIUM = os.environ.get("SEQUENCES_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def missing_browser() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install playwright)"
    if shutil.which(CHROMIUM) is None:
        return f"{CHROMIUM} is missing (apt-get install -y chromium)"
    return None


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A headless Chromium; skipped without one locally, a failure under ``CI=true``."""
    reason = missing_browser()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"The browser test must run in CI, but {reason}.")
        pytest.skip(reason)
    # Playwright's sync API runs an event loop in this thread; the test's own
    # ORM calls are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
            # While Playwright's loop runs, the test's ORM calls get connections
            # of their own; close them here, or the test database outlives the run.
            connections.close_all()


@pytest.fixture
def immediate(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """SQLite's default database with ``transaction_mode = "IMMEDIATE"``, as W101 recommends."""
    connection = connections["default"]
    connection.close()
    options = connection.settings_dict.setdefault("OPTIONS", {})
    monkeypatch.setitem(options, "transaction_mode", "IMMEDIATE")
    yield
    connection.close()
