"""Failover to a synchronous standby issues no number twice and loses none.

A primary and a standby made with ``pg_basebackup -R``, with
``synchronous_standby_names`` and ``synchronous_commit = on``. Worker processes
draw through Django and this package, on libpq's multi-host form with
``target_session_attrs=read-write``, so that they find the new primary by
themselves. Part-way through, every process of the primary is SIGKILLed and
the standby is promoted. On the new primary:

- every value whose commit was acknowledged is there, exactly once;
- the documents are exactly 1..N;
- the first value after the failover follows the last one before it;
- a commit in doubt (an error at COMMIT) is there or not, never twice.

Run by ``make test-failover``; about 15 s.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from typing import Any

import pytest
from django.db import connections

from . import load
from .aliases import add_alias, migrate
from .cluster import Cluster

pytestmark = pytest.mark.multiserver

ALIAS = "multi_failover"
SEQUENCE = "invoices"
WORKERS = 4
SECONDS_BEFORE = 5.0
# After the failover, run until this many more documents are on the new primary.
COMMITS_AFTER = 500
TIMEOUT = 40.0

SYNC_STANDBYS = "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'"
CLEAR_SYNC_STANDBYS = "ALTER SYSTEM SET synchronous_standby_names = ''"
RELOAD = "SELECT pg_reload_conf()"


def server_port(connection: Any) -> int:
    # libpq's multi-host form: the server it connected to.
    return int(connection.connection.info.port)


def worker(number: int, stop: Any, results: Any) -> None:
    load.run(ALIAS, SEQUENCE, number=number, stop=stop, results=results, server_port=server_port)


def test_failover_to_a_synchronous_standby_reissues_nothing(server_root: Any, capsys: Any) -> None:
    started = time.monotonic()
    # pg_basebackup copies synchronous_standby_names into the standby, as in production.
    primary = Cluster.primary(server_root, settings="synchronous_standby_names = '*'\n")
    standby = Cluster.standby_of(primary)
    wait_until(lambda: primary.query(SYNC_STANDBYS)[0][0] == 1, "the standby is not synchronous")
    add_alias(
        ALIAS,
        host="127.0.0.1,127.0.0.1",
        port=f"{primary.port},{standby.port}",
        target_session_attrs="read-write",
    )
    migrate(ALIAS)
    with connections[ALIAS].cursor() as cursor:
        cursor.execute(load.CREATE_DOCUMENTS)
    connections[ALIAS].close()  # the workers must not share the parent's connection
    setup_seconds = time.monotonic() - started

    context = multiprocessing.get_context("fork")
    results = context.Queue()
    stop = context.Event()
    processes = [
        context.Process(target=worker, args=(number, stop, results)) for number in range(WORKERS)
    ]
    for process in processes:
        process.start()
    try:
        time.sleep(SECONDS_BEFORE)
        killed_at = time.monotonic()
        primary.kill()
        # Clear it before promoting, or every commit on the new primary waits forever.
        standby.query(CLEAR_SYNC_STANDBYS)
        standby.query(RELOAD)
        standby.promote()
        promoted_at = time.monotonic()
        at_promotion = standby.query(load.COUNT_DOCUMENTS)[0][0]
        wait_until(
            lambda: standby.query(load.COUNT_DOCUMENTS)[0][0] >= at_promotion + COMMITS_AFTER,
            "the workers did not find the new primary",
            timeout=TIMEOUT,
        )
        stop.set()
        outcomes = load.collect(results, len(processes))
    finally:
        stop.set()
        for process in processes:
            process.join(10)
            if process.is_alive():
                process.kill()
    assert all(process.exitcode == 0 for process in processes)

    documents = dict(standby.query(load.SELECT_DOCUMENTS))
    last = standby.query(load.SELECT_LAST, [SEQUENCE])[0][0]
    figures = load.check(outcomes, documents, last)

    # The first value after the failover follows the last one before it.
    acknowledged = [ack for outcome in outcomes for ack in outcome.acknowledged]
    in_doubt = [doubt for outcome in outcomes for doubt in outcome.in_doubt]
    doubt_committed = [t for t, _ in in_doubt if t in documents]
    before = [v for t, v, port, _ in acknowledged if port == primary.port]
    before += [documents[t] for t in doubt_committed]
    after = [(at, v) for t, v, port, at in acknowledged if port == standby.port]
    assert before and after, "the load did not span the failover"
    last_before, first_after = max(before), min(v for _, v in after)
    assert first_after == last_before + 1
    assert all(v > last_before for _, v in after)

    figures.update(
        commits_before=len(before) - len(doubt_committed),
        commits_after=len(after),
        last_before=last_before,
        first_after=first_after,
        promote_seconds=round(promoted_at - killed_at, 2),
        failover_seconds=round(min(at for at, _ in after) - killed_at, 2),
        setup_seconds=round(setup_seconds, 1),
        test_seconds=round(time.monotonic() - started, 1),
    )
    with capsys.disabled():
        print(f"\n[failover] {json.dumps(figures)}")


def wait_until(condition: Any, message: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.05)
