"""docs/locking.md's async view pattern, executed as written, under concurrency."""

from __future__ import annotations

import asyncio
import re
import threading
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from django.test import RequestFactory

from sequences import get_last_value
from tests.testapp.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)

DOC = Path(__file__).resolve().parent.parent / "docs" / "locking.md"
REQUESTS = 20


def async_pattern() -> dict[str, Any]:
    match = re.search(r"<!-- async-pattern -->\s*```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert match, "docs/locking.md lost its async pattern"
    namespace: dict[str, Any] = {"Invoice": Ticket}
    exec(match.group(1), namespace)
    return namespace


def test_async_view_pattern_gives_gapless_values_under_concurrency():
    pattern = async_pattern()
    threads: set[int] = set()
    create_invoice = pattern["create_invoice"]

    def recording_create_invoice() -> Ticket:
        threads.add(threading.get_ident())
        try:
            return create_invoice()  # type: ignore[no-any-return]
        finally:
            # The executor's threads outlive the test: close their connections.
            connections.close_all()

    pattern["create_invoice"] = recording_create_invoice
    # The view looks create_invoice up in its module's namespace at call time.
    view = pattern["create_invoice_view"]
    factory = RequestFactory()

    async def many_requests() -> list[Any]:
        return await asyncio.gather(*(view(factory.post("/")) for _ in range(REQUESTS)))

    responses = asyncio.run(many_requests())
    numbers = sorted(int(r.content.decode().split(":")[1].strip(" }")) for r in responses)
    assert numbers == list(range(1, REQUESTS + 1))
    assert sorted(Ticket.objects.values_list("number", flat=True)) == numbers
    assert get_last_value("invoices") == REQUESTS
    assert len(threads) > 1, "thread_sensitive=False should spread the calls over threads"
