"""Patroni, in its safe setting, fails over without issuing a number twice.

A throwaway Patroni cluster (``tests/multiserver/patroni.py``): etcd and three
PostgreSQL nodes with ``synchronous_mode`` and ``synchronous_mode_strict``.
The load of ``test_failover.py`` runs through libpq's multi-host form; the
leader's Patroni and PostgreSQL are SIGKILLed together, as a crashed machine.
Patroni promotes the synchronous standby by itself once the leader key
expires (``ttl`` 10 s here); the same invariants hold on the new leader.
Optional: ``make test-patroni``, about a minute.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

from . import cluster, load, patroni
from .aliases import add_alias, migrate, remove_alias

pytestmark = pytest.mark.multiserver

ALIAS = "multi_patroni"
SEQUENCE = "invoices"
WORKERS = 4
SECONDS_BEFORE = 5.0
COMMITS_AFTER = 300
TIMEOUT = 60.0


@pytest.fixture
def nodes(django_db_blocker: Any) -> Iterator[list[patroni.Node]]:
    reason = patroni.missing()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"make test-patroni must run in CI when asked for, but {reason}.")
        pytest.skip(reason)
    root: Path = cluster.make_directory()
    try:
        started = patroni.start_cluster(root)
        with django_db_blocker.unblock():
            add_alias(
                ALIAS,
                host=",".join("127.0.0.1" for _ in started),
                port=",".join(str(node.port) for node in started),
                target_session_attrs="read-write",
            )
            migrate(ALIAS)
            with connections[ALIAS].cursor() as cursor:
                cursor.execute(load.CREATE_DOCUMENTS)
            connections[ALIAS].close()
            yield started
            remove_alias(ALIAS)
    finally:
        cluster.remove(root)


def server_port(connection: Any) -> int:
    return int(connection.connection.info.port)


def worker(number: int, stop: Any, results: Any) -> None:
    load.run(ALIAS, SEQUENCE, number=number, stop=stop, results=results, server_port=server_port)


def leader(nodes: list[patroni.Node]) -> patroni.Node | None:
    leaders = [node for node in nodes if node.state().get("role") == "master"]
    return leaders[0] if len(leaders) == 1 else None


def test_patroni_failover_in_strict_synchronous_mode_reissues_nothing(
    nodes: list[patroni.Node], capsys: Any
) -> None:
    started = time.monotonic()
    old = leader(nodes)
    assert old is not None
    [sync] = [node for node in nodes if node.state().get("sync_standby")]

    context = multiprocessing.get_context("fork")
    results, stop = context.Queue(), context.Event()
    processes = [
        context.Process(target=worker, args=(number, stop, results)) for number in range(WORKERS)
    ]
    for process in processes:
        process.start()
    try:
        time.sleep(SECONDS_BEFORE)
        killed_at = time.monotonic()
        old.kill()
        survivors = [node for node in nodes if node is not old]
        patroni.wait_for(lambda: leader(survivors) is not None, "no new leader", TIMEOUT)
        new = leader(survivors)
        assert new is not None
        promoted_at = time.monotonic()
        at_promotion = new_count = count(new)
        patroni.wait_for(
            lambda: count(new) >= at_promotion + COMMITS_AFTER,
            "the workers did not find the new leader",
            TIMEOUT,
        )
        stop.set()
        outcomes = load.collect(results, len(processes))
    finally:
        stop.set()
        for process in processes:
            process.join(20)
            if process.is_alive():
                process.kill()
    assert all(process.exitcode == 0 for process in processes)
    assert new is sync, "Patroni promoted a standby that was not synchronous"

    documents = dict(query(new, load.SELECT_DOCUMENTS))
    [(last,)] = query(new, load.SELECT_LAST, [SEQUENCE])
    figures = load.check(outcomes, documents, last)
    acknowledged = [ack for outcome in outcomes for ack in outcome.acknowledged]
    in_doubt = [doubt for outcome in outcomes for doubt in outcome.in_doubt]
    before = [v for _, v, port, _ in acknowledged if port == old.port]
    before += [documents[t] for t, _ in in_doubt if t in documents]
    after = [(at, v) for _, v, port, at in acknowledged if port != old.port]
    assert before and after, "the load did not span the failover"
    last_before, first_after = max(before), min(v for _, v in after)
    assert first_after == last_before + 1
    figures.update(
        last_before=last_before,
        first_after=first_after,
        commits_after=len(after),
        documents_at_promotion=new_count,
        promote_seconds=round(promoted_at - killed_at, 2),
        failover_seconds=round(min(at for at, _ in after) - killed_at, 2),
        test_seconds=round(time.monotonic() - started, 1),
    )
    with capsys.disabled():
        print(f"\n[patroni] {json.dumps(figures)}")


def query(node: patroni.Node, sql: str, params: list[Any] | None = None) -> list[Any]:
    import psycopg

    with psycopg.connect(
        host="127.0.0.1", port=node.port, user="postgres", dbname="postgres", connect_timeout=3
    ) as connection:
        return connection.execute(sql, params).fetchall()


def count(node: patroni.Node) -> int:
    return int(query(node, load.COUNT_DOCUMENTS)[0][0])
