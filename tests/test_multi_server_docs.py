"""The Python examples of docs/multi-server.md run, and do what the page says.

The receiver runs on PostgreSQL (the test server sends a WARNING with the
text of a cancelled wait for the standby, as in ``test_replication_watch.py``);
the retry recipe on MariaDB, through a real InnoDB deadlock (error 1213, the
error Galera also raises for a certification conflict).
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import pytest
from django.db import connections, transaction

from sequences import get_last_value, get_next_value, get_next_values
from sequences.replication import CANCELLED_WAIT
from sequences.signals import commit_not_replicated
from tests.testapp.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)

DOC = Path(__file__).resolve().parent.parent / "docs" / "multi-server.md"
WARN = f"DO $$ BEGIN RAISE WARNING '{CANCELLED_WAIT} due to user request'; END $$"


def doc_examples() -> dict[str, Any]:
    """Run the Python blocks of the page, in order, in one namespace."""
    namespace: dict[str, Any] = {"alerts": []}
    exec("def alert(text):\n    alerts.append(text)", namespace)
    for block in re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S):
        exec(compile(block, str(DOC), "exec"), namespace)
    commit_not_replicated.disconnect(namespace["page_the_operator"])
    return namespace


@pytest.mark.backends("postgresql")
def test_the_documented_receiver_is_called() -> None:
    namespace = doc_examples()
    assert namespace["DATABASES"]["default"]["DISABLE_SERVER_SIDE_CURSORS"] is True
    commit_not_replicated.connect(namespace["page_the_operator"])
    try:
        with transaction.atomic():
            get_next_values(2, "invoices")
            with connections["default"].cursor() as cursor:
                cursor.execute(WARN)
        [text] = namespace["alerts"]
        assert text.startswith("Unreplicated numbers on default: (('invoices', range(1, 3)),)")
    finally:
        commit_not_replicated.disconnect(namespace["page_the_operator"])


@pytest.mark.backends("mariadb")
def test_the_documented_retry_recipe_survives_a_deadlock() -> None:
    """The first attempt is the deadlock victim; the retry commits the next number."""
    namespace = doc_examples()
    get_next_value("orders")  # both rows exist, so that each draw takes a row lock
    get_next_value("invoices")
    other_holds_orders, other_done = threading.Event(), threading.Event()
    other_got: list[int] = []

    def other() -> None:
        try:
            with transaction.atomic():
                # More rows changed than the victim: InnoDB rolls back the lighter one.
                get_next_values(1, "heavy-1")
                get_next_values(1, "heavy-2")
                get_next_values(1, "heavy-3")
                get_next_value("orders")
                other_holds_orders.set()
                other_got.append(get_next_value("invoices"))  # waits for the victim
        finally:
            connections.close_all()
            other_done.set()

    attempts: list[int] = []
    thread = threading.Thread(target=other)

    def create_invoice() -> int:
        number = get_next_value("invoices")
        attempts.append(number)
        if len(attempts) == 1:
            thread.start()
            assert other_holds_orders.wait(30)
            get_next_value("orders")  # the cycle: InnoDB picks this transaction
        Ticket.objects.create(number=number, sequence_name="invoices")
        return number

    namespace["create_invoice"] = create_invoice
    number = namespace["create_invoice_with_retry"]()
    thread.join(30)
    assert other_done.is_set()
    assert attempts == [2, 3]  # 2 was given back by the victim, then taken by the other
    assert other_got == [2] and number == 3
    assert get_last_value("invoices") == 3
    assert list(Ticket.objects.values_list("number", flat=True)) == [3]
