"""The load of the multi-server tests, and the invariants checked after it.

Each transaction draws a value through this package, inserts a document row
with it and a token that names the transaction, then commits, or rolls back at
random. The client records what it was told about each token; afterwards,
:func:`check` compares that with the documents the surviving server has.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import Error, connections, transaction

from sequences import get_next_value

# No unique constraint on number: a number issued twice would be stored
# twice, and counted.
CREATE_DOCUMENTS = "CREATE TABLE document (token varchar(40) PRIMARY KEY, number bigint NOT NULL)"
INSERT_DOCUMENT = "INSERT INTO document (token, number) VALUES (%s, %s)"
SELECT_DOCUMENTS = "SELECT token, number FROM document"
COUNT_DOCUMENTS = "SELECT count(*) FROM document"
SELECT_LAST = "SELECT last FROM sequences_sequence WHERE name = %s"

MYSQL_DEADLOCK = 1213  # Galera: a certification conflict, reported as a deadlock


class Rollback(Exception):
    pass


@dataclass
class Outcome:
    """What one worker was told: tokens and values, as the client knows them."""

    #: (token, value, server port, time.monotonic() of the acknowledgement)
    acknowledged: list[tuple[str, int, int, float]] = field(default_factory=list)
    rolled_back: list[str] = field(default_factory=list)
    #: An error at COMMIT: committed or not, the client cannot know.
    in_doubt: list[tuple[str, int]] = field(default_factory=list)
    #: An error before COMMIT: not committed.
    failed: list[str] = field(default_factory=list)
    #: Galera's deadlock error (1213), at any statement or at COMMIT: rolled back.
    conflicts: list[str] = field(default_factory=list)
    conflicts_at_commit: int = 0


def is_conflict(exc: BaseException) -> bool:
    args: tuple[Any, ...] = getattr(exc, "args", ())
    return len(args) > 0 and args[0] == MYSQL_DEADLOCK


def run(
    alias: str,
    sequence: str,
    *,
    number: int,
    stop: Any,
    results: Any,
    server_port: Callable[[Any], int],
    after_error: Callable[[], None] = lambda: None,
    rollback_share: float = 0.3,
) -> None:
    """Transactions until ``stop`` is set, surviving any database error; puts the Outcome."""
    chance = random.Random(number)
    outcome = Outcome()
    serial = 0
    while not stop.is_set():
        serial += 1
        token = f"{number}-{serial}"
        value = 0
        at_commit = False
        try:
            with transaction.atomic(using=alias):
                value = get_next_value(sequence, using=alias)
                with connections[alias].cursor() as cursor:
                    cursor.execute(INSERT_DOCUMENT, [token, value])
                time.sleep(chance.uniform(0, 0.003))
                if chance.random() < rollback_share:
                    raise Rollback
                at_commit = True
            port = server_port(connections[alias])
            outcome.acknowledged.append((token, value, port, time.monotonic()))
        except Rollback:
            outcome.rolled_back.append(token)
        except Error as exc:
            if is_conflict(exc):
                outcome.conflicts.append(token)
                outcome.conflicts_at_commit += at_commit
                continue  # the connection is fine: Galera rolled the transaction back
            # The server died: a COMMIT that failed may or may not have happened.
            if at_commit:
                outcome.in_doubt.append((token, value))
            else:
                outcome.failed.append(token)
            try:
                connections[alias].close()
            except Error:
                connections[alias].connection = None
            after_error()
            time.sleep(0.05)
    connections.close_all()
    results.put(json.dumps(outcome.__dict__))


def collect(results: Any, count: int, timeout: float = 60) -> list[Outcome]:
    return [Outcome(**json.loads(results.get(timeout=timeout))) for _ in range(count)]


def check(outcomes: list[Outcome], documents: dict[str, int], last: int) -> dict[str, Any]:
    """Assert the invariants on the surviving server's documents; return the figures."""
    acknowledged = [ack for outcome in outcomes for ack in outcome.acknowledged]
    in_doubt = [doubt for outcome in outcomes for doubt in outcome.in_doubt]
    not_committed = [
        token
        for outcome in outcomes
        for token in outcome.rolled_back + outcome.failed + outcome.conflicts
    ]
    # Every acknowledged commit is there, with its value; values are exactly 1..N.
    lost = [(t, v) for t, v, _, _ in acknowledged if documents.get(t) != v]
    assert not lost, f"acknowledged commits lost: {lost[:10]}"
    assert sorted(documents.values()) == list(range(1, last + 1)), "a gap or a duplicate"
    assert not set(not_committed) & set(documents), "a transaction that failed is there"
    # In doubt: committed (with its own value) or not; never twice (1..N above).
    doubt_committed = [t for t, v in in_doubt if t in documents]
    assert all(documents[t] == v for t, v in in_doubt if t in documents)
    return {
        "commits": len(acknowledged),
        "rollbacks": sum(len(outcome.rolled_back) for outcome in outcomes),
        "failed_before_commit": sum(len(outcome.failed) for outcome in outcomes),
        "conflicts": sum(len(outcome.conflicts) for outcome in outcomes),
        "conflicts_at_commit": sum(outcome.conflicts_at_commit for outcome in outcomes),
        "in_doubt": len(in_doubt),
        "in_doubt_committed": len(doubt_committed),
        "N": last,
    }
