"""MariaDB Galera: a writer killed under load, and writes on every node.

A throwaway cluster of three nodes (``tests/multiserver/galera.py``). Worker
processes draw through Django and this package, as in ``test_failover.py``:

- **single writer**: every worker writes to node 1, which is SIGKILLed
  part-way; each worker then moves to the next node, as a proxy would. The
  same invariants as after a PostgreSQL failover hold on the survivors.
- **multi-writer**: workers write to all three nodes at once. Row locks are
  local to a node, so two transactions on two nodes may draw the same value;
  Galera's certification then fails one of them, at COMMIT, with a deadlock
  error (1213). Values stay unique and contiguous; the test counts how often
  commits fail.

Run by ``make test-galera``; about a minute and a half.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections

from . import cluster, galera, load
from .aliases import add_alias, migrate

pytestmark = pytest.mark.multiserver

DATABASE = "multi_galera"
WORKERS = 6
SECONDS_BEFORE = 5.0
COMMITS_AFTER = 300
SECONDS_MULTI_WRITER = 8.0
TIMEOUT = 60.0

CREATE_DATABASE = f"CREATE DATABASE {DATABASE} CHARACTER SET utf8mb4"


@pytest.fixture
def nodes(django_db_blocker: Any) -> Iterator[list[galera.Node]]:
    """Three Galera nodes with the sequences table and a document table, all removed after."""
    reason = galera.missing()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"The Galera tests must run in CI, but {reason}.")
        pytest.skip(reason)
    root = cluster.make_directory(owner=galera.SERVER_USER)
    try:
        started = galera.start_cluster(root)
        connection = started[0].connect()
        connection.cursor().execute(CREATE_DATABASE)
        connection.close()
        with django_db_blocker.unblock():
            for index, node in enumerate(started):
                add_mysql_alias(f"multi_node{index + 1}", node.port)
            migrate("multi_node1")
            with connections["multi_node1"].cursor() as cursor:
                cursor.execute(load.CREATE_DOCUMENTS)
            connections.close_all()
            yield started
    finally:
        from .aliases import remove_alias

        for alias in [a for a in connections.settings if a.startswith("multi_node")]:
            remove_alias(alias)
        cluster.remove(root)


def add_mysql_alias(alias: str, port: int) -> None:
    add_alias(
        alias,
        host="127.0.0.1",
        port=str(port),
        engine="django.db.backends.mysql",
        name=DATABASE,
        user="root",
        charset="utf8mb4",
    )


def settings_port(connection: Any) -> int:
    return int(connection.settings_dict["PORT"])


def single_writer(number: int, ports: list[int], stop: Any, results: Any) -> None:
    alias = "multi_node1"
    settings = connections[alias].settings_dict

    def next_node() -> None:
        # What a proxy does when the writer dies: send writes to the next node.
        settings["PORT"] = str(ports[(ports.index(int(settings["PORT"])) + 1) % len(ports)])

    load.run(
        alias, "single", number=number, stop=stop, results=results,
        server_port=settings_port, after_error=next_node,
    )  # fmt: skip


def multi_writer(number: int, stop: Any, results: Any) -> None:
    alias = f"multi_node{number % 3 + 1}"
    load.run(alias, "multi", number=number, stop=stop, results=results, server_port=settings_port)


def query(node: galera.Node, sql: str, params: list[Any] | None = None) -> list[Any]:
    connection = node.connect()
    try:
        cursor = connection.cursor()
        cursor.execute(f"USE {DATABASE}")
        cursor.execute(sql, params)
        return list(cursor.fetchall())
    finally:
        connection.close()


def start(target: Any, args: list[tuple[Any, ...]]) -> tuple[Any, Any, list[Any]]:
    context = multiprocessing.get_context("fork")
    results, stop = context.Queue(), context.Event()
    processes = [context.Process(target=target, args=(*a, stop, results)) for a in args]
    for process in processes:
        process.start()
    return results, stop, processes


def finish(stop: Any, processes: list[Any]) -> None:
    stop.set()
    for process in processes:
        process.join(20)
        if process.is_alive():
            process.kill()


def test_galera_single_writer_killed_reissues_nothing(
    nodes: list[galera.Node], capsys: Any
) -> None:
    started = time.monotonic()
    ports = [node.port for node in nodes]
    results, stop, processes = start(single_writer, [(n, ports) for n in range(WORKERS)])
    try:
        time.sleep(SECONDS_BEFORE)
        killed_at = time.monotonic()
        nodes[0].kill()
        survivor = nodes[1]
        at_kill = query(survivor, load.COUNT_DOCUMENTS)[0][0]
        deadline = time.monotonic() + TIMEOUT
        while query(survivor, load.COUNT_DOCUMENTS)[0][0] < at_kill + COMMITS_AFTER:
            assert time.monotonic() < deadline, "the workers did not move to another node"
            time.sleep(0.1)
        stop.set()
        outcomes = load.collect(results, len(processes))
    finally:
        finish(stop, processes)
    assert all(process.exitcode == 0 for process in processes)

    documents = dict(query(survivor, load.SELECT_DOCUMENTS))
    [(last,)] = query(survivor, load.SELECT_LAST, ["single"])
    figures = load.check(outcomes, documents, last)
    acknowledged = [ack for outcome in outcomes for ack in outcome.acknowledged]
    in_doubt = [doubt for outcome in outcomes for doubt in outcome.in_doubt]
    before = [v for _, v, port, _ in acknowledged if port == nodes[0].port]
    before += [documents[t] for t, _ in in_doubt if t in documents]
    after = [(at, v) for _, v, port, at in acknowledged if port != nodes[0].port]
    assert before and after, "the load did not span the failover"
    last_before, first_after = max(before), min(v for _, v in after)
    assert first_after == last_before + 1
    figures.update(
        last_before=last_before,
        first_after=first_after,
        commits_after=len(after),
        failover_seconds=round(min(at for at, _ in after) - killed_at, 2),
        test_seconds=round(time.monotonic() - started, 1),
    )
    with capsys.disabled():
        print(f"\n[galera single writer] {json.dumps(figures)}")


def test_galera_multi_writer_values_stay_unique_and_contiguous(
    nodes: list[galera.Node], capsys: Any
) -> None:
    results, stop, processes = start(multi_writer, [(n,) for n in range(WORKERS)])
    try:
        time.sleep(SECONDS_MULTI_WRITER)
        stop.set()
        outcomes = load.collect(results, len(processes))
    finally:
        finish(stop, processes)
    assert all(process.exitcode == 0 for process in processes)

    for node in nodes:  # every node has the same documents
        documents = dict(query(node, load.SELECT_DOCUMENTS))
        [(last,)] = query(node, load.SELECT_LAST, ["multi"])
        figures = load.check(outcomes, documents, last)
    assert figures["in_doubt"] == 0
    assert figures["conflicts"] > 0, "no certification conflict: the test proved nothing"
    attempts = figures["commits"] + figures["conflicts"]
    figures["conflict_share"] = round(figures["conflicts"] / attempts, 3)
    figures["commits_per_second"] = round(figures["commits"] / SECONDS_MULTI_WRITER)
    with capsys.disabled():
        print(f"\n[galera multi-writer] {json.dumps(figures)}")
