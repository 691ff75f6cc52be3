"""The benchmark harness in smoke mode, on this run's backend: correctness only, no timings.

``python -m benchmarks --smoke`` runs every case a hundred times for the raw
driver, the Django floor (ours' own SQL, replayed through Django's cursor) and
``sequences``, contends with 1 and 16 processes, and counts statements on
the server or on the wire. These tests read its JSON results, so
that the harness cannot rot and the one-statement promise stays checked. They
use no Django test database (the harness makes its own, ``seq_bench*``), so
they do not take ``db_mode``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
BACKEND = os.environ.get("SEQUENCES_TEST_BACKEND", "sqlite")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    output = tmp_path_factory.mktemp("bench") / "smoke.json"
    test_prefix = re.sub(r"\W", "_", os.environ.get("SEQUENCES_TEST_DB_PREFIX", "sequences"))
    env = dict(os.environ, SEQUENCES_BENCH_DB_PREFIX=f"seq_bench_smoke_{test_prefix}")
    command = [sys.executable, "-m", "benchmarks", "--smoke", "--require-all",
               "--backends", BACKEND, "--json", str(output)]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert output.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    results: dict[str, Any] = json.loads(output.read_text())
    results["returncode"] = done.returncode
    results["log"] = done.stdout[-3000:] + done.stderr[-3000:]
    return results


@pytest.fixture
def result(smoke: dict[str, Any]) -> dict[str, Any]:
    [result] = smoke["results"]
    assert result["backend"] == BACKEND
    return dict(result)


def test_smoke_run_reports_no_problem(smoke):
    assert smoke["problems"] == [], smoke["log"]
    assert smoke["returncode"] == 0, smoke["log"]


def test_every_case_ran_for_the_raw_driver_the_django_floor_and_sequences(result):
    for label, per_impl in result["seconds"].items():
        assert sorted(per_impl) == ["django", "ours", "raw"], label
    assert len(result["seconds"]) == 10
    assert "timeout=5" in result["seconds"]


def test_the_django_floor_runs_in_ours_process_and_the_raw_driver_in_its_own(result):
    pids = result["pids"]
    assert pids["django"] == pids["ours"] != pids["raw"]


def server_sessions_pinned(result: dict[str, Any]) -> bool:
    """Whether the run pinned every server session.

    It may not, for two reasons only: the server runs as another user
    (``PermissionError``) or not on this machine (its session id names no
    server process here).
    """
    pinning = result["pinning"]
    if "not pinned" not in pinning:
        return "server session(s) pinned" in pinning
    reasons = pinning.split("not pinned: ", 1)[1].split("; ")
    allowed = ("PermissionError", "is not a ")
    assert all(any(mark in reason for mark in allowed) for reason in reasons), pinning
    return False


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one CPU: nothing to pin to")
def test_the_single_client_cases_ran_pinned_to_one_cpu(result):
    pinning = result["pinning"]
    assert pinning.startswith("every worker process"), pinning
    if BACKEND != "sqlite" and server_sessions_pinned(result):
        # The raw driver's process and ours', each connected to two databases.
        assert "and 4 server session(s) pinned" in pinning, pinning


@pytest.mark.backends("mariadb")  # MariaDB keeps its threads for new connections
def test_no_mariadb_thread_stays_pinned_after_the_run(result):
    if not server_sessions_pinned(result):
        pytest.skip(f"no MariaDB thread was pinned here: {result['pinning']}")
    server = subprocess.run(["pgrep", "-x", "mariadbd|mysqld"], capture_output=True, text=True)
    pids = server.stdout.split()
    assert pids, "sessions were pinned, so the server runs on this machine"
    everyone = os.sched_getaffinity(0)
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").iterdir():
            assert os.sched_getaffinity(int(task.name)) >= everyone, task


@pytest.mark.parametrize("count", range(2, 8))
def test_the_turn_order_gives_each_implementation_each_neighbour_on_both_sides(count):
    from benchmarks.harness import slice_sizes, turn_order

    impls = [f"impl{i}" for i in range(count)]
    rounds = len(slice_sizes(200, count))  # one repetition
    assert rounds % (2 * count) == 0 and 12 <= rounds <= 28
    assert sum(slice_sizes(200, count)) == 200
    repetition = [turn_order(impls, turn) for turn in range(rounds)]
    assert all(sorted(order) == impls for order in repetition)  # each runs once a round
    sequence = [impl for order in repetition for impl in order]
    followed = Counter(zip(sequence, sequence[1:], strict=False))
    for a in impls:
        for b in impls:
            if a != b:
                assert followed[a, b] == followed[b, a], (a, b)


def test_the_django_floor_sends_the_same_statements_as_ours(result):
    for label, per_impl in result["statements"].items():
        floor = per_impl["django"]["inside"]
        ours = per_impl["ours"]["inside"]
        # SQLite's PRAGMA busy_timeout is ours to pay: the floor leaves it out.
        assert floor["kinds"] == {k: n for k, n in ours["kinds"].items() if k != "PRAGMA"}, label


def test_sixteen_processes_on_one_sequence_get_unique_contiguous_values(result):
    runs = result["contention"]["16/shared"]["ours"]
    assert runs and all(run["problem"] is None for run in runs)
    assert sum(run["calls"] for run in runs) >= 16


def test_sixteen_processes_with_a_sequence_each_get_contiguous_values(result):
    runs = result["contention"]["16/own"]["ours"]
    assert runs and all(run["problem"] is None for run in runs)


def data_statements(count: dict[str, Any]) -> dict[str, float]:
    """Statements per call by kind, without SQLite's in-process PRAGMAs."""
    return {kind: n / count["n"] for kind, n in count["kinds"].items() if kind != "PRAGMA"}


def test_each_call_is_one_statement_inside_the_callers_transaction(result):
    for label, per_impl in result["statements"].items():
        inside = per_impl["ours"]["inside"]
        assert sum(data_statements(inside).values()) == 1, (label, inside)


def test_a_batch_of_1000_is_one_statement(result):
    inside = result["statements"]["batch of 1000"]["ours"]["inside"]
    assert inside["per_call"] == 1, inside


def test_only_sqlite_nowait_and_timeout_add_statements_and_they_are_pragmas(result):
    for label, per_impl in result["statements"].items():
        inside = per_impl["ours"]["inside"]
        extra = {kind: n for kind, n in inside["kinds"].items() if kind == "PRAGMA"}
        if BACKEND == "sqlite" and label in ("nowait=True", "timeout=5"):
            # At most: read, set and restore the busy timeout (no I/O, no lock).
            assert extra.get("PRAGMA", 0) <= 3 * inside["n"], inside
        else:
            assert extra == {}, (label, inside)


def test_contention_runs_report_the_cpu_they_used(result):
    for runs in result["contention"].values():
        for run in runs["ours"]:
            assert 0 < run["client_cpu"] <= 1, run
            assert 0 <= run["machine_busy"] <= 1, run


def test_in_its_own_transaction_a_call_adds_only_the_transaction_statements(result):
    own = result["statements"]["steady state"]["ours"]["own"]
    raw = result["statements"]["steady state"]["raw"]["own"]
    # PostgreSQL and SQLite: BEGIN, upsert, COMMIT as the raw driver does. On
    # MariaDB, Django's atomic() switches autocommit off and on instead of BEGIN.
    assert own["per_call"] == raw["per_call"] + (1 if BACKEND == "mariadb" else 0), own


def test_targets_are_against_the_django_floor_not_the_raw_driver(result):
    from benchmarks import harness

    targets = [target for target, _, _ in harness.targets(harness.BackendResult(**result))]
    for label, least in harness.FLOOR_TARGETS.items():
        assert f"{label}: ours/Django floor ≥ {least:.2f}" in targets, targets
    assert not [target for target in targets if "raw" in target], targets


def test_lockhold_benchmark_runs_both_orders_and_checks_their_numbers(tmp_path):
    test_prefix = re.sub(r"\W", "_", os.environ.get("SEQUENCES_TEST_DB_PREFIX", "sequences"))
    env = dict(os.environ, SEQUENCES_BENCH_DB_PREFIX=f"seq_bench_lockhold_{test_prefix}")
    output = tmp_path / "lockhold.md"
    command = [sys.executable, "-m", "benchmarks.lockhold", "--backends", BACKEND,
               "--processes", "2", "--seconds", "0.3", "--repeat", "1",
               "--output", str(output)]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    log = done.stdout[-3000:] + done.stderr[-3000:]
    assert done.returncode == 0, log
    [result] = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert result["backend"] == BACKEND
    assert all(len(runs) == 1 and runs[0] > 0 for runs in result["runs"].values()), result
    assert "| draw first | draw last | ratio |" in output.read_text()
