"""Isolation levels, and the retry recipe that docs/databases.md gives for them.

The recipe is executed from docs/databases.md itself, so the documentation
cannot drift from what is tested.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from django.db import OperationalError, connections, transaction

from sequences import get_last_value, get_next_value
from tests.testapp.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)

DATABASES_PAGE = Path(__file__).resolve().parent.parent / "docs" / "databases.md"

SESSION_LEVEL = {
    "postgresql": "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL {}",
    "mariadb": "SET SESSION TRANSACTION ISOLATION LEVEL {}",
}


def documented_recipe() -> dict[str, object]:
    text = DATABASES_PAGE.read_text()
    match = re.search(r"<!-- retry-recipe -->\s*```python\n(.*?)```", text, re.DOTALL)
    assert match, "docs/databases.md lost its retry recipe"
    namespace: dict[str, object] = {"Invoice": Ticket}
    exec(match.group(1), namespace)
    return namespace


def draw_while_another_transaction_holds(level: str, vendor: str) -> dict[str, object]:
    """Run the documented create_invoice at ``level`` while a READ COMMITTED transaction holds."""
    get_next_value("invoices")  # exists, last = 1
    recipe = documented_recipe()
    attempts: list[int] = []

    def counting_get_next_value(*args, **kwargs):
        attempts.append(1)
        return get_next_value(*args, **kwargs)

    recipe["get_next_value"] = counting_get_next_value
    outcome: dict[str, object] = {}
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                outcome["first"] = get_next_value("invoices")
                holding.set()
                assert release.wait(30)
        finally:
            connections.close_all()

    def retrying() -> None:
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute(SESSION_LEVEL[vendor].format(level))
            outcome["invoice"] = recipe["create_invoice"]()  # type: ignore[operator]
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(30)
    follower = threading.Thread(target=retrying)
    follower.start()
    follower.join(0.5)
    assert follower.is_alive(), "the second transaction did not wait"
    release.set()
    holder.join(30)
    follower.join(60)
    outcome["attempts"] = len(attempts)
    return outcome


@pytest.mark.backends("postgresql")
@pytest.mark.parametrize("level", ["REPEATABLE READ", "SERIALIZABLE"])
def test_postgresql_snapshot_levels_fail_once_then_the_retry_succeeds(vendor, level):
    outcome = draw_while_another_transaction_holds(level, vendor)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["attempts"] == 2  # a serialization failure, then success
    assert outcome["invoice"].number == 3  # type: ignore[attr-defined]
    assert get_last_value("invoices") == 3


@pytest.mark.backends("postgresql")
def test_postgresql_repeatable_read_raises_serialization_failure(vendor):
    get_next_value("invoices")
    holding, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def hold() -> None:
        with transaction.atomic():
            get_next_value("invoices")
            holding.set()
            release.wait(30)
        connections.close_all()

    def follow() -> None:
        try:
            with transaction.atomic():
                with connections["default"].cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                get_next_value("invoices")
        except OperationalError as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(30)
    follower = threading.Thread(target=follow)
    follower.start()
    follower.join(0.5)
    release.set()
    holder.join(30)
    follower.join(30)
    (error,) = errors
    cause = error.__cause__
    assert type(cause).__name__ == "SerializationFailure"
    assert (getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)) == "40001"
    assert "could not serialize access due to concurrent update" in str(error)
    assert get_last_value("invoices") == 2


@pytest.mark.backends("mariadb")
@pytest.mark.parametrize("level", ["READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE"])
def test_mariadb_levels_wait_and_continue_without_error(vendor, level):
    outcome = draw_while_another_transaction_holds(level, vendor)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["attempts"] == 1
    assert outcome["invoice"].number == 3  # type: ignore[attr-defined]
