"""Faults: connections killed from outside, processes killed, a server restarted.

Worker processes draw from one sequence for a bounded time; each transaction
stores the value in a row and then commits or rolls back at random. Whatever
is killed meanwhile, the stored values must be exactly 1..N, with the
sequence's last value N. Set ``SEQUENCES_FAULT_SECONDS`` for a longer run
(``make test-faults-long``).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.db import Error, connections, transaction

from sequences import get_last_value, get_next_value
from tests.testapp.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)

WORKERS = 8
SECONDS = float(os.environ.get("SEQUENCES_FAULT_SECONDS", "6"))
APPLICATION_NAME = "sequences-fault-worker"
FIGURES = Path(__file__).resolve().parent.parent / "artifacts" / "faults.jsonl"


class Rollback(Exception):
    pass


@dataclass
class Figures:
    test: str
    backend: str
    workers: int = WORKERS
    seconds: float = SECONDS
    commits: int = 0
    rollbacks: int = 0
    errors: int = 0
    killed_connections: int = 0
    killed_processes: int = 0
    restarts: int = 0
    values: int = 0
    result: str = "?"
    notes: list[str] = field(default_factory=list)


def load_worker(name: str, seed: int, deadline: float, results, in_transaction) -> None:
    """Draw, store, then commit or roll back, until the deadline; survive any DB error."""
    settings = connections["default"].settings_dict
    if settings["ENGINE"].endswith("postgresql"):
        settings.setdefault("OPTIONS", {})["application_name"] = APPLICATION_NAME
    chance = random.Random(seed)
    counts = {"commits": 0, "rollbacks": 0, "errors": 0}
    while time.monotonic() < deadline:
        try:
            with transaction.atomic():
                number = get_next_value(name)
                in_transaction.value = 1
                Ticket.objects.create(number=number, sequence_name=name)
                time.sleep(chance.uniform(0, 0.004))  # a window to be killed in
                if chance.random() < 0.3:
                    raise Rollback
            in_transaction.value = 0
            counts["commits"] += 1
        except Rollback:
            in_transaction.value = 0
            counts["rollbacks"] += 1
        except Error:
            # Killed connection, restarting server: start again on a new one.
            in_transaction.value = 0
            counts["errors"] += 1
            for connection in connections.all():
                try:
                    connection.close()
                except Error:
                    connection.connection = None
            time.sleep(0.05)
    connections.close_all()
    results.put(counts)


class Load:
    """WORKERS processes running :func:`load_worker` on one sequence."""

    def __init__(self, name: str, figures: Figures) -> None:
        self.name = name
        self.figures = figures
        self.context = multiprocessing.get_context("fork")
        self.results = self.context.Queue()
        self.deadline = time.monotonic() + SECONDS
        self.workers: list[tuple[multiprocessing.process.BaseProcess, Any]] = []

    def spawn(self) -> None:
        flag = self.context.Value("i", 0, lock=False)
        seed = len(self.workers)
        process = self.context.Process(
            target=load_worker, args=(self.name, seed, self.deadline, self.results, flag)
        )
        process.start()
        self.workers.append((process, flag))

    def run(self, fault: Callable[[Load], None], every: float) -> None:
        connections.close_all()  # children must not share the parent's connections
        for _ in range(WORKERS):
            self.spawn()
        stop = threading.Event()

        def inject() -> None:
            try:
                while not stop.wait(every) and time.monotonic() < self.deadline - 1:
                    fault(self)
            finally:
                connections.close_all()

        injector = threading.Thread(target=inject)
        injector.start()
        time.sleep(max(0.0, self.deadline - time.monotonic()))
        stop.set()
        injector.join()
        # Only now is the list final: the injector may have replaced workers.
        for process, _ in self.workers:
            process.join(120)
        for process, _ in self.workers:
            if process.exitcode == 0:
                counts = self.results.get(timeout=10)
                self.figures.commits += counts["commits"]
                self.figures.rollbacks += counts["rollbacks"]
                self.figures.errors += counts["errors"]
            else:
                assert process.exitcode == -signal.SIGKILL, f"a worker failed: {process.exitcode}"

    def check(self) -> None:
        numbers = sorted(
            Ticket.objects.filter(sequence_name=self.name).values_list("number", flat=True)
        )
        self.figures.values = len(numbers)
        assert numbers == list(range(1, len(numbers) + 1)), "a gap or a duplicate"
        assert get_last_value(self.name) == len(numbers)
        assert self.figures.commits > 0 and self.figures.rollbacks > 0
        self.figures.result = f"exactly 1..{len(numbers)}"


@pytest.fixture
def figures(request, vendor, capsys):
    result = Figures(test=request.node.name, backend=vendor)
    yield result
    FIGURES.parent.mkdir(exist_ok=True)
    with FIGURES.open("a") as log:
        log.write(json.dumps(asdict(result)) + "\n")
    with capsys.disabled():
        print(f"\n[faults] {json.dumps(asdict(result))}")


def kill_a_connection_in_a_transaction(load: Load) -> None:
    """Kill, from the server side, one worker connection whose transaction is open."""
    connection = connections["default"]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s AND state = 'idle in transaction' "
                "AND datname = current_database() ORDER BY random() LIMIT 1",
                [APPLICATION_NAME],
            )
            killed = [row for row in cursor.fetchall() if row[0]]
        else:
            cursor.execute(
                "SELECT t.trx_mysql_thread_id FROM information_schema.innodb_trx t "
                "JOIN information_schema.processlist p ON p.id = t.trx_mysql_thread_id "
                "WHERE p.db = DATABASE() AND p.id <> CONNECTION_ID() ORDER BY RAND() LIMIT 1"
            )
            killed = cursor.fetchall()
            for (thread_id,) in killed:
                cursor.execute(f"KILL CONNECTION {int(thread_id)}")
    load.figures.killed_connections += len(killed)


def kill_a_process_in_a_transaction(load: Load) -> None:
    """SIGKILL one worker whose transaction is open, and start another in its place."""
    busy: list[tuple[multiprocessing.process.BaseProcess, Any]] = []
    give_up = time.monotonic() + 1
    while not busy and time.monotonic() < give_up:
        busy = [(p, flag) for p, flag in load.workers if p.is_alive() and flag.value]
        time.sleep(0.002)
    if busy:
        process, _ = random.choice(busy)
        assert process.pid is not None
        os.kill(process.pid, signal.SIGKILL)
        process.join(10)
        load.figures.killed_processes += 1
        load.spawn()


@pytest.mark.backends("postgresql", "mariadb")
def test_connections_killed_from_outside_lose_and_duplicate_nothing(figures):
    load = Load("killed-connections", figures)
    load.run(kill_a_connection_in_a_transaction, every=0.2)
    load.check()
    assert figures.killed_connections > 0


def test_processes_killed_in_a_transaction_lose_and_duplicate_nothing(figures):
    load = Load("killed-processes", figures)
    load.run(kill_a_process_in_a_transaction, every=0.5)
    load.check()
    assert figures.killed_processes > 0


def restart_postgresql(load: Load) -> None:
    if load.figures.restarts:
        return
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
        check=True,
        timeout=120,
    )
    load.figures.restarts += 1


@pytest.mark.disruptive
@pytest.mark.backends("postgresql")
def test_server_restart_mid_run_loses_and_duplicates_nothing(figures):
    load = Load("restart", figures)
    load.run(restart_postgresql, every=SECONDS / 3)
    load.check()
    assert figures.restarts == 1
    assert figures.errors > 0, "the restart interrupted no transaction"


def hold_then_hang(name: str, drew, value) -> None:
    with transaction.atomic():
        value.value = get_next_value(name)
        drew.set()
        time.sleep(600)  # killed long before


def test_a_killed_lock_holder_releases_the_sequence(figures):
    """A process killed with SIGKILL while holding the sequence: the others go on."""
    get_next_value("held")
    connections.close_all()
    context = multiprocessing.get_context("fork")
    drew, value = context.Event(), context.Value("q", 0)
    holder = context.Process(target=hold_then_hang, args=("held", drew, value))
    holder.start()
    assert drew.wait(30)
    assert value.value == 2

    waited: dict[str, float | int] = {}

    def follow() -> None:
        started = time.monotonic()
        try:
            with transaction.atomic():
                waited["value"] = get_next_value("held")
        finally:
            waited["seconds"] = time.monotonic() - started
            connections.close_all()

    follower = threading.Thread(target=follow)
    follower.start()
    follower.join(0.5)
    assert follower.is_alive(), "the follower did not wait for the lock holder"
    assert holder.pid is not None
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(10)
    figures.killed_processes = 1
    follower.join(30)
    assert not follower.is_alive(), "the lock was never released"
    # The killed transaction's value is handed out again: no gap.
    assert waited["value"] == 2
    assert get_last_value("held") == 2
    figures.values = 2
    figures.result = f"follower got 2 after {waited['seconds']:.2f} s"
