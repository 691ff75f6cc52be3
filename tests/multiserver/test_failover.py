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

Run by ``make test-failover``; about 30 s.
"""

from __future__ import annotations

import json
import multiprocessing
import random
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import Error, connections, transaction

from sequences import get_next_value

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

# The documents table has no unique constraint: a number issued twice would
# be stored twice, and counted.
CREATE_DOCUMENTS = "CREATE TABLE document (token text PRIMARY KEY, number bigint NOT NULL)"
INSERT_DOCUMENT = "INSERT INTO document (token, number) VALUES (%s, %s)"
SELECT_DOCUMENTS = "SELECT token, number FROM document"
COUNT_DOCUMENTS = "SELECT count(*) FROM document"
SELECT_LAST = "SELECT last FROM sequences_sequence WHERE name = %s"
SYNC_STANDBYS = "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'"
CLEAR_SYNC_STANDBYS = "ALTER SYSTEM SET synchronous_standby_names = ''"
RELOAD = "SELECT pg_reload_conf()"


class Rollback(Exception):
    pass


@dataclass
class Outcome:
    """What one worker saw: tokens and values, as the client knows them."""

    acknowledged: list[tuple[str, int, int, float]] = field(default_factory=list)
    rolled_back: list[str] = field(default_factory=list)
    in_doubt: list[tuple[str, int]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def worker(number: int, stop: Any, results: Any) -> None:
    """Draw and store, then commit or roll back, until told to stop; survive any error."""
    chance = random.Random(number)
    outcome = Outcome()
    serial = 0
    while not stop.is_set():
        serial += 1
        token = f"{number}-{serial}"
        value = 0
        at_commit = False
        try:
            with transaction.atomic(using=ALIAS):
                value = get_next_value(SEQUENCE, using=ALIAS)
                with connections[ALIAS].cursor() as cursor:
                    cursor.execute(INSERT_DOCUMENT, [token, value])
                time.sleep(chance.uniform(0, 0.003))
                if chance.random() < 0.3:
                    raise Rollback
                at_commit = True
            port = connections[ALIAS].connection.info.port
            outcome.acknowledged.append((token, value, int(port), time.monotonic()))
        except Rollback:
            outcome.rolled_back.append(token)
        except Error:
            # The primary died: a COMMIT that failed may or may not have happened.
            if at_commit:
                outcome.in_doubt.append((token, value))
            else:
                outcome.failed.append(token)
            try:
                connections[ALIAS].close()
            except Error:
                connections[ALIAS].connection = None
            time.sleep(0.05)

    connections.close_all()
    results.put(json.dumps(outcome.__dict__))


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
        cursor.execute(CREATE_DOCUMENTS)
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
        at_promotion = standby.query(COUNT_DOCUMENTS)[0][0]
        wait_until(
            lambda: standby.query(COUNT_DOCUMENTS)[0][0] >= at_promotion + COMMITS_AFTER,
            "the workers did not find the new primary",
            timeout=TIMEOUT,
        )
        stop.set()
        outcomes = [Outcome(**json.loads(results.get(timeout=60))) for _ in processes]
    finally:
        stop.set()
        for process in processes:
            process.join(10)
            if process.is_alive():
                process.kill()
    assert all(process.exitcode == 0 for process in processes)

    documents = dict(standby.query(SELECT_DOCUMENTS))
    last = standby.query(SELECT_LAST, [SEQUENCE])[0][0]
    acknowledged = [ack for outcome in outcomes for ack in outcome.acknowledged]
    in_doubt = [doubt for outcome in outcomes for doubt in outcome.in_doubt]
    never_committed = [t for outcome in outcomes for t in outcome.rolled_back + outcome.failed]

    # Every acknowledged commit is there, with its value; values are exactly 1..N.
    missing = [(t, v) for t, v, _, _ in acknowledged if documents.get(t) != v]
    assert not missing, f"acknowledged commits lost on the new primary: {missing[:10]}"
    numbers = sorted(documents.values())
    assert numbers == list(range(1, last + 1)), "a gap or a duplicate"
    assert not set(never_committed) & set(documents), "a rolled-back transaction is there"
    # In doubt: committed (then with its own value) or not; never twice (1..N above).
    doubt_committed = [t for t, v in in_doubt if t in documents]
    assert all(documents[t] == v for t, v in in_doubt if t in documents)

    before = [v for t, v, port, _ in acknowledged if port == primary.port]
    before += [documents[t] for t in doubt_committed]
    after = [(at, v) for t, v, port, at in acknowledged if port == standby.port]
    assert before and after, "the load did not span the failover"
    last_before, first_after = max(before), min(v for _, v in after)
    assert first_after == last_before + 1
    assert all(v > last_before for _, v in after)

    figures = {
        "commits": len(acknowledged),
        "commits_before": len(before) - len(doubt_committed),
        "commits_after": len(after),
        "rollbacks": sum(len(outcome.rolled_back) for outcome in outcomes),
        "failed_before_commit": sum(len(outcome.failed) for outcome in outcomes),
        "in_doubt": len(in_doubt),
        "in_doubt_committed": len(doubt_committed),
        "last_before": last_before,
        "first_after": first_after,
        "N": last,
        "promote_seconds": round(promoted_at - killed_at, 2),
        "failover_seconds": round(min(at for at, _ in after) - killed_at, 2),
        "setup_seconds": round(setup_seconds, 1),
        "test_seconds": round(time.monotonic() - started, 1),
    }
    with capsys.disabled():
        print(f"\n[failover] {json.dumps(figures)}")


def wait_until(condition: Any, message: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.05)
