"""The hazard of synchronous replication, reproduced, and the signal that shows it.

A session whose COMMIT waits for the synchronous standby is cancelled with
``pg_cancel_backend``: PostgreSQL keeps the commit and says so only with a
WARNING. Everyone on the primary sees the value; the standby never got it;
after a failover the same value is issued again. This package cannot prevent
that (the commit is the server's), but it makes it visible: a CRITICAL log
record and ``sequences.signals.commit_not_replicated``, with psycopg 3 and
psycopg2. Run by ``make test-failover``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

from sequences import get_next_value

from .aliases import add_alias, migrate
from .cluster import Cluster
from .unreplicated_client import APPLICATION_NAME

pytestmark = pytest.mark.multiserver

ROOT = Path(__file__).resolve().parents[2]
ALIAS = "multi_hazard"

CREATE_DOCUMENTS = "CREATE TABLE document (id serial PRIMARY KEY, number bigint NOT NULL)"
SELECT_NUMBERS = "SELECT number FROM document ORDER BY number"
SELECT_LAST = "SELECT last FROM sequences_sequence WHERE name = %s"
SYNC_STANDBYS = "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'"
WAITING_FOR_STANDBY = (
    "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND wait_event = 'SyncRep'"
)
CANCEL = "SELECT pg_cancel_backend(%s)"
CLEAR_SYNC_STANDBYS = "ALTER SYSTEM SET synchronous_standby_names = ''"
RELOAD = "SELECT pg_reload_conf()"


def wait_for(query: Any, message: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = query()
        if result:
            return result
        assert time.monotonic() < deadline, message
        time.sleep(0.05)


def run_client(primary: Cluster, driver: str, mode: str, *, cancel: bool) -> dict[str, Any]:
    """Draw in a client process; with ``cancel``, cancel its wait for the standby."""
    command = [sys.executable, "-m", "tests.multiserver.unreplicated_client"]
    process = subprocess.Popen(
        [*command, str(primary.port), driver, mode],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        if cancel:
            waiting = wait_for(
                lambda: primary.query(WAITING_FOR_STANDBY, [APPLICATION_NAME]),
                "the client's commit never waited for the standby",
            )
            primary.query(CANCEL, [waiting[0][0]])
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    result: dict[str, Any] = json.loads(out.splitlines()[-1])
    assert result["driver"] == driver
    return result


@pytest.mark.parametrize("driver", ["psycopg", "psycopg2"])
def test_a_cancelled_wait_for_the_standby_is_reported_and_the_value_reissued(
    server_root: Path, driver: str, capsys: Any
) -> None:
    primary = Cluster.primary(server_root, settings="synchronous_standby_names = '*'\n")
    standby = Cluster.standby_of(primary)
    wait_for(lambda: primary.query(SYNC_STANDBYS)[0][0] == 1, "the standby is not synchronous")
    add_alias(
        ALIAS,
        host="127.0.0.1,127.0.0.1",
        port=f"{primary.port},{standby.port}",
        target_session_attrs="read-write",
    )
    migrate(ALIAS)
    with connections[ALIAS].cursor() as cursor:
        cursor.execute(CREATE_DOCUMENTS)
    connections[ALIAS].close()

    # With the standby there, a commit is replicated: no alarm.
    replicated = run_client(primary, driver, "atomic", cancel=False)
    assert replicated["value"] == 1
    assert replicated["signals"] == [] and replicated["logs"] == []

    # The standby goes away; commits wait for it; an operator cancels them.
    standby.stop()
    in_atomic = run_client(primary, driver, "atomic", cancel=True)
    assert in_atomic["value"] == 2
    [signal] = in_atomic["signals"]
    assert signal["sender"] == "Sequence" and signal["using"] == "multi_client"
    assert signal["draws"] == [["hazard", 2, 3], ["other", 3, 5]]
    assert "canceling wait for synchronous replication" in signal["message"]
    assert "committed locally" in signal["message"]
    [log] = in_atomic["logs"]
    assert log.startswith("CRITICAL Database 'multi_client' committed values")
    assert "hazard 2, other 3 to 4" in log

    in_autocommit = run_client(primary, driver, "autocommit", cancel=True)
    assert in_autocommit["value"] == 3
    [signal] = in_autocommit["signals"]
    assert signal["draws"] == [["hazard", 3, 4]]
    assert len(in_autocommit["logs"]) == 1

    # The commits stand on the primary: everyone there sees them.
    assert primary.query(SELECT_LAST, ["hazard"]) == [(3,)]
    assert primary.query(SELECT_NUMBERS) == [(1,), (2,)]

    # The primary dies; the standby, which never got them, is promoted.
    primary.kill()
    standby.start()
    standby.query(CLEAR_SYNC_STANDBYS)
    standby.query(RELOAD)
    standby.promote()
    assert standby.query(SELECT_LAST, ["hazard"]) == [(1,)]
    assert standby.query(SELECT_NUMBERS) == [(1,)]
    # The hazard: the same values again, through Django and this package.
    reissued = [get_next_value("hazard", using=ALIAS) for _ in range(2)]
    assert reissued == [in_atomic["value"], in_autocommit["value"]]
    with capsys.disabled():
        print(f"\n[unreplicated] {driver}: issued {reissued} twice; signal: {signal['message']}")
