"""SQLite with several writing processes: deferred versus IMMEDIATE transactions.

Each transaction reads first (as application code usually does), then takes
a value and stores it. With deferred transactions (Django's default), SQLite
refuses at once to upgrade a reading transaction while another one writes:
that surfaces as SequenceLocked, and retrying works. With
``"transaction_mode": "IMMEDIATE"`` every transaction takes the write lock at
BEGIN and waits its turn there (up to the ``timeout`` option), so
``get_next_value`` never meets a lock.
"""

from __future__ import annotations

import multiprocessing

import pytest
from django.db import OperationalError, connections, transaction

from sequences import SequenceLocked, get_last_value, get_next_value
from tests.testapp.models import Ticket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.backends("sqlite")]

PROCESSES = 4
TRANSACTIONS = 25


def writer(name: str, options: dict[str, object], outcomes) -> None:
    connections["default"].settings_dict["OPTIONS"].update(options)
    locked = begin_failed = 0
    done = 0
    while done < TRANSACTIONS:
        try:
            with transaction.atomic():
                Ticket.objects.filter(sequence_name=name).count()
                number = get_next_value(name)
                Ticket.objects.create(number=number, sequence_name=name)
            done += 1
        except SequenceLocked:
            locked += 1
        except OperationalError as exc:
            # IMMEDIATE with a short timeout: BEGIN itself gives up.
            assert "database is locked" in str(exc), exc
            begin_failed += 1
    connections.close_all()
    outcomes.put((locked, begin_failed))


def run_writers(name: str, **options: object) -> tuple[int, int]:
    connections.close_all()
    context = multiprocessing.get_context("fork")
    outcomes = context.Queue()
    processes = [
        context.Process(target=writer, args=(name, options, outcomes)) for _ in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(180)
    assert [process.exitcode for process in processes] == [0] * PROCESSES
    results = [outcomes.get(timeout=10) for _ in processes]
    numbers = sorted(Ticket.objects.filter(sequence_name=name).values_list("number", flat=True))
    assert numbers == list(range(1, PROCESSES * TRANSACTIONS + 1))
    assert get_last_value(name) == PROCESSES * TRANSACTIONS
    return sum(r[0] for r in results), sum(r[1] for r in results)


def test_deferred_transactions_get_sequence_locked_and_retrying_works():
    locked, begin_failed = run_writers("deferred")
    assert begin_failed == 0  # every lock error came from get_next_value, as SequenceLocked


def test_immediate_transactions_wait_their_turn_without_errors():
    assert run_writers("immediate", transaction_mode="IMMEDIATE") == (0, 0)


def test_immediate_transactions_with_a_short_timeout_fail_at_begin():
    locked, begin_failed = run_writers("short", transaction_mode="IMMEDIATE", timeout=0.001)
    assert locked == 0
