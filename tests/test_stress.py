"""Several processes draw from one sequence and commit or roll back at random.

Whatever the interleaving, the committed values must be exactly 1..N: no gap,
no duplicate, and the sequence's last value is N.
"""

from __future__ import annotations

import multiprocessing
import random

import pytest
from django.db import connections, transaction

from sequences import get_last_value, get_next_value
from tests.testapp.models import Ticket

PROCESSES = 4
TRANSACTIONS = 40


class Rollback(Exception):
    pass


def worker(seed: int, name: str) -> None:
    chance = random.Random(seed)
    try:
        for _ in range(TRANSACTIONS):
            try:
                with transaction.atomic():
                    number = get_next_value(name)
                    Ticket.objects.create(number=number, sequence_name=name)
                    if chance.random() < 0.3:
                        raise Rollback
            except Rollback:
                pass
    finally:
        connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_committed_values_are_exactly_one_to_n():
    # Children must open their own connections, never share the parent's.
    connections.close_all()
    context = multiprocessing.get_context("fork")
    processes = [
        context.Process(target=worker, args=(seed, "stress")) for seed in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    assert [p.exitcode for p in processes] == [0] * PROCESSES, "a worker failed"

    numbers = sorted(
        Ticket.objects.filter(sequence_name="stress").values_list("number", flat=True)
    )
    assert numbers, "no transaction committed"
    assert numbers == list(range(1, len(numbers) + 1))
    assert get_last_value("stress") == len(numbers)
    # Some rolled back (30% each): the test exercised reuse of values.
    assert len(numbers) < PROCESSES * TRANSACTIONS
