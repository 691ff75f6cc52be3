"""pgbouncer in transaction pooling mode: values stay correct, no setting leaks.

In transaction pooling, consecutive transactions of one Django connection may
run on different server connections, and a server connection serves many
clients. The library keeps nothing between transactions on the server side
(``nowait`` changes ``lock_timeout`` with ``set_config(..., true)``, local to
its transaction, and restores it): these tests prove it through Debian's
pgbouncer with fewer server connections than clients. Run by
``make test-failover``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections, transaction

from sequences import SequenceLocked, get_last_value, get_next_value, reset_sequence

from .aliases import add_alias, migrate
from .cluster import PGBOUNCER, Bouncer, Cluster

pytestmark = pytest.mark.multiserver

ALIAS = "multi_bouncer"
CLIENTS = 8
POOL_SIZE = 3  # fewer server connections than clients: they are shared
DRAWS_PER_CLIENT = 40

CREATE_DOCUMENTS = "CREATE TABLE document (id serial PRIMARY KEY, number bigint NOT NULL)"
INSERT_DOCUMENT = "INSERT INTO document (number) VALUES (%s)"
SELECT_NUMBERS = "SELECT number FROM document ORDER BY number"
SHOW_LOCK_TIMEOUT = "SHOW lock_timeout"
SERVER_PID = "SELECT pg_backend_pid()"


@pytest.fixture
def bouncer(server_root: Path) -> Iterator[Bouncer]:
    """A throwaway cluster with pgbouncer (transaction pooling) in front; alias ``ALIAS``."""
    if not (shutil.which("pgbouncer") or os.path.exists(PGBOUNCER)):
        reason = "pgbouncer is not installed (apt-get install pgbouncer)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"The pgbouncer test must run in CI, but {reason}.")
        pytest.skip(reason)
    server = Cluster.primary(server_root)
    pooler = Bouncer(server, pool_size=POOL_SIZE)
    # What Django needs behind a transaction pooler: no server-side cursors
    # (a named cursor would outlive the transaction on another connection).
    add_alias(ALIAS, host="127.0.0.1", port=str(pooler.port))
    connections.settings[ALIAS]["DISABLE_SERVER_SIDE_CURSORS"] = True
    migrate(ALIAS)
    with connections[ALIAS].cursor() as cursor:
        cursor.execute(CREATE_DOCUMENTS)
    connections[ALIAS].close()
    yield pooler


def run_clients(target: Any, count: int = CLIENTS) -> list[BaseException]:
    errors: list[BaseException] = []

    def client(number: int) -> None:
        try:
            target(number)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections[ALIAS].close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


@contextlib.contextmanager
def another_client_holding(name: str) -> Iterator[None]:
    """Another client draws ``name`` and keeps its transaction open for the block."""
    holding, release = threading.Event(), threading.Event()

    def hold(_: int) -> None:
        with transaction.atomic(using=ALIAS):
            get_next_value(name, using=ALIAS)
            holding.set()
            release.wait(30)

    holder = threading.Thread(target=run_clients, args=(hold, 1))
    holder.start()
    try:
        assert holding.wait(30)
        yield
    finally:
        release.set()
        holder.join(30)


def numbers() -> list[int]:
    with connections[ALIAS].cursor() as cursor:
        cursor.execute(SELECT_NUMBERS)
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.parametrize("mode", ["autocommit", "transaction"])
def test_concurrent_draws_through_pgbouncer_are_unique_and_contiguous(
    bouncer: Bouncer, mode: str
) -> None:
    """8 clients on 3 server connections: values exactly 1..N, rollbacks given back."""

    def draw(number: int) -> None:
        for serial in range(DRAWS_PER_CLIENT):
            if mode == "autocommit":
                # Each statement is its own transaction, on whichever server connection.
                value = get_next_value("plain", using=ALIAS)
                with connections[ALIAS].cursor() as cursor:
                    cursor.execute(INSERT_DOCUMENT, [value])
                continue
            try:
                with transaction.atomic(using=ALIAS):
                    value = get_next_value("plain", using=ALIAS)
                    with connections[ALIAS].cursor() as cursor:
                        cursor.execute(INSERT_DOCUMENT, [value])
                    if (number + serial) % 4 == 0:
                        raise LookupError("roll back")
            except LookupError:
                pass

    assert run_clients(draw) == []
    stored = numbers()
    expected = sum(
        1
        for n in range(CLIENTS)
        for s in range(DRAWS_PER_CLIENT)
        if mode == "autocommit" or (n + s) % 4 != 0
    )
    assert stored == list(range(1, expected + 1))
    assert get_last_value("plain", using=ALIAS) == expected


def test_nowait_through_pgbouncer_raises_and_leaves_no_lock_timeout_behind(
    bouncer: Bouncer,
) -> None:
    """A held sequence: ``nowait`` raises at once; no server connection keeps 1 ms."""
    get_next_value("held", using=ALIAS)
    with another_client_holding("held"):
        for _ in range(5):
            started = time.monotonic()
            with pytest.raises(SequenceLocked), transaction.atomic(using=ALIAS):
                get_next_value("held", nowait=True, using=ALIAS)
            assert time.monotonic() - started < 5
    assert get_last_value("held", using=ALIAS) == 2

    assert_no_lock_timeout_left_behind()


def assert_no_lock_timeout_left_behind() -> None:
    """Every server connection of the pool, reached by clients at once, has the
    caller's lock_timeout (the server default, 0)."""
    seen: dict[int, str] = {}
    barrier = threading.Barrier(POOL_SIZE)

    def show(_: int) -> None:
        with transaction.atomic(using=ALIAS), connections[ALIAS].cursor() as cursor:
            cursor.execute(SERVER_PID)
            pid = cursor.fetchone()[0]
            cursor.execute(SHOW_LOCK_TIMEOUT)
            seen[pid] = cursor.fetchone()[0]
            barrier.wait(10)

    assert run_clients(show, POOL_SIZE) == []
    assert len(seen) == POOL_SIZE
    assert set(seen.values()) == {"0"}


def test_timeout_through_pgbouncer_gives_up_and_leaves_no_lock_timeout_behind(
    bouncer: Bouncer,
) -> None:
    """A held sequence: ``timeout=`` gives up after about that long, for draws and
    audited resets alike; no server connection keeps the shortened lock_timeout."""
    get_next_value("held", using=ALIAS)
    with another_client_holding("held"):
        attempts = [
            lambda: get_next_value("held", timeout=0.3, using=ALIAS),
            lambda: reset_sequence(
                "held", 10, expected_last=2, reason="r", timeout=0.3, using=ALIAS
            ),
        ]
        for attempt in attempts * 2:
            started = time.monotonic()
            with pytest.raises(SequenceLocked), transaction.atomic(using=ALIAS):
                attempt()
            assert 0.25 <= time.monotonic() - started < 5
    assert get_last_value("held", using=ALIAS) == 2
    assert get_next_value("held", timeout=0.3, using=ALIAS) == 3
    assert_no_lock_timeout_left_behind()


def test_nowait_on_the_first_call_through_pgbouncer(bouncer: Bouncer) -> None:
    """The sequence's row is being created by another transaction: nowait raises."""
    creating, release = threading.Event(), threading.Event()

    def create(_: int) -> None:
        with transaction.atomic(using=ALIAS):
            assert get_next_value("new", using=ALIAS) == 1
            creating.set()
            release.wait(30)

    creator = threading.Thread(target=run_clients, args=(create, 1))
    creator.start()
    try:
        assert creating.wait(30)
        with pytest.raises(SequenceLocked), transaction.atomic(using=ALIAS):
            get_next_value("new", nowait=True, using=ALIAS)
    finally:
        release.set()
        creator.join(30)
    assert get_next_value("new", nowait=True, using=ALIAS) == 2


def test_reset_value_and_audited_reset_through_pgbouncer(bouncer: Bouncer) -> None:
    """``reset_value`` wraps around, and ``reset_sequence`` moves the sequence, under load."""
    drawn: list[int] = []

    def draw(_: int) -> None:
        for _ in range(9):
            with transaction.atomic(using=ALIAS):
                drawn.append(get_next_value("cycle", reset_value=4, using=ALIAS))

    assert run_clients(draw, 3) == []
    # 27 values of a cycle 1, 2, 3: each exactly 9 times, and the last one is 3.
    assert sorted(drawn) == sorted([1, 2, 3] * 9)
    assert get_last_value("cycle", using=ALIAS) == 3

    change = reset_sequence("cycle", 100, expected_last=3, reason="pgbouncer test", using=ALIAS)
    assert (change.last_before, change.last_after) == (3, 99)
    assert run_clients(lambda _: get_next_value("cycle", reset_value=200, using=ALIAS), 4) == []
    assert get_last_value("cycle", using=ALIAS) == 103
