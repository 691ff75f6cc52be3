"""``make bench-lockhold``: the lock hold time, drawing first against drawing last.

A hot sequence serves one transaction at a time, for as long as that
transaction holds its row. Here ``--processes`` processes create documents
numbered from one sequence; each transaction inserts its document row and does
``--work-ms`` of other database work (PostgreSQL ``SELECT pg_sleep(s)``,
MariaDB ``SELECT SLEEP(s)``; SQLite has no sleep function, so a
``time.sleep(s)`` inside the transaction, after its first write):

- *draw first*: ``get_next_value()``, insert the row with its number, work, commit;
- *draw last*: insert the row without a number, work, then
  ``assign_next_value()`` (draw + one single-row ``UPDATE``), commit.

Draw last sends one statement more, and holds the sequence only for the draw,
the ``UPDATE`` and the ``COMMIT``. The two are interleaved (ABBA ...) for
``--repeat`` repetitions per backend; every run ends with a check that the
documents it committed are numbered 1..N, each number once, and that the
sequence stands at N. Each backend runs in a process of its own (Django's
settings are per process) on a database ``seq_bench..._lockhold`` that it
creates and drops.

    python -m benchmarks.lockhold [--backends postgresql,mariadb,sqlite]
        [--processes 8] [--seconds 3] [--repeat 3] [--work-ms 5] [--output FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "RESULTS-lockhold.md"
SUFFIX = "_lockhold"
MODES = ("first", "last")

#: The "other database work" of a transaction, besides inserting its row.
WORK_SQL = {"postgresql": "SELECT pg_sleep(%s)", "mariadb": "SELECT SLEEP(%s)"}


def _configure(backend: str) -> str:
    from benchmarks import databases, settings

    entry = settings.database(backend, SUFFIX)
    databases.setup_django(entry)
    return str(entry["NAME"])


def _transaction(backend: str, mode: str, sequence: str, work_seconds: float) -> None:
    from django.db import connection, transaction

    from sequences import assign_next_value, get_next_value
    from tests.testapp.models import Document

    def work() -> None:
        if backend == "sqlite":
            time.sleep(work_seconds)
        else:
            with connection.cursor() as cursor:
                cursor.execute(WORK_SQL[backend], [work_seconds])
                cursor.fetchall()

    with transaction.atomic():
        if mode == "first":
            number = get_next_value(sequence)
            Document.objects.create(number=number, kind=sequence)
            work()
        else:
            document = Document.objects.create(kind=sequence)
            work()
            assign_next_value(document, "number", sequence)


def _process(
    backend: str, schedule: list[tuple[str, str]], seconds: float, work_seconds: float,
    barrier: Any, errors: Any,
) -> None:  # fmt: skip
    """One client: for each run, wait for the others, then create documents for ``seconds``."""
    from django.db import connection

    for mode, sequence in schedule:
        failed = 0
        barrier.wait()
        stop = time.monotonic() + seconds
        while time.monotonic() < stop:
            try:
                _transaction(backend, mode, sequence, work_seconds)
            except Exception as exc:  # counted and reported: a run with errors fails
                failed += 1
                if failed == 1:
                    sys.stderr.write(f"{mode} {sequence}: {type(exc).__name__}: {exc}\n")
        errors.put(failed)
        barrier.wait()
    connection.close()


def _check(sequence: str) -> int:
    """The number of documents of a run; raises if they are not numbered 1..N once each."""
    from sequences import get_last_value
    from tests.testapp.models import Document

    stored = list(Document.objects.filter(kind=sequence).values_list("number", flat=True))
    if None in stored:
        raise AssertionError(f"{sequence}: a committed document has no number")
    numbers = sorted(number for number in stored if number is not None)
    if numbers != list(range(1, len(numbers) + 1)):
        raise AssertionError(f"{sequence}: the numbers are not 1..{len(numbers)} once each")
    last = get_last_value(sequence)
    if (last or 0) != len(numbers):
        raise AssertionError(f"{sequence}: the sequence stands at {last}, {len(numbers)} rows")
    return len(numbers)


def backend_run(
    backend: str, processes: int, seconds: float, repeat: int, work_ms: float
) -> dict[str, Any]:
    """Create the database, run the interleaved repetitions, check each run, drop it."""
    import multiprocessing

    from benchmarks import databases

    name = _configure(backend)
    databases.drop_database(backend, name)
    databases.create_database(backend, name)
    from django.core.management import call_command
    from django.db import connection, connections

    try:
        call_command("migrate", verbosity=0)
        if backend == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA journal_mode = WAL")
        # ABBA...: each mode goes first as often as the other.
        schedule = [
            (mode, f"lockhold.{mode}.{rep}")
            for rep in range(repeat)
            for mode in (MODES if rep % 2 == 0 else MODES[::-1])
        ]
        connections.close_all()  # the children open their own connections
        context = multiprocessing.get_context("fork")
        barrier = context.Barrier(processes + 1)
        errors = context.Queue()
        children = [
            context.Process(
                target=_process,
                args=(backend, schedule, seconds, work_ms / 1000, barrier, errors),
            )
            for _ in range(processes)
        ]
        for child in children:
            child.start()
        runs: dict[str, list[float]] = {mode: [] for mode in MODES}
        failures = 0
        for mode, sequence in schedule:
            barrier.wait(timeout=120)
            began = time.monotonic()
            barrier.wait(timeout=120 + seconds)
            elapsed = time.monotonic() - began
            failures += sum(errors.get(timeout=10) for _ in children)
            runs[mode].append(_check(sequence) / elapsed)
            connections.close_all()
        for child in children:
            child.join(30)
        if failures:
            raise AssertionError(f"{failures} transactions failed on {backend}")
        return {
            "backend": backend,
            "server": databases.server_version(backend),
            "processes": processes,
            "seconds": seconds,
            "work_ms": work_ms,
            "runs": runs,
        }
    finally:
        connections.close_all()
        databases.drop_database(backend, name)


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):,.0f} ({min(values):,.0f}–{max(values):,.0f})"


def write_results(results: list[dict[str, Any]], skipped: dict[str, str]) -> str:
    first = results[0] if results else {"processes": "?", "seconds": "?", "work_ms": "?"}
    lines = [
        "# The lock hold time: drawing first against drawing last",
        "",
        "`make bench-lockhold` (`python -m benchmarks.lockhold`): "
        f"{first['processes']} processes create documents numbered from one sequence for "
        f"{first['seconds']} s per run; each transaction inserts its document row and does "
        f"{first['work_ms']} ms of other database work (PostgreSQL `SELECT pg_sleep()`, "
        "MariaDB `SELECT SLEEP()`, SQLite a `time.sleep()` inside the transaction).",
        "",
        "- *draw first*: `get_next_value()`, insert the numbered row, work, commit.",
        "- *draw last*: insert the row, work, `assign_next_value()` (the draw and one "
        "single-row `UPDATE`), commit: one statement more, and the sequence held only "
        "for the draw, the `UPDATE` and the `COMMIT`.",
        "",
        "Documents committed per second: median (minimum–maximum) of the interleaved "
        "repetitions; the ratio is draw last / draw first, median of the repetitions' "
        "paired ratios (minimum–maximum). Every run checked that its documents are "
        "numbered 1..N, each number once, and that the sequence stands at N.",
        "",
        "| Backend | draw first | draw last | ratio | repetitions |",
        "|---|---:|---:|---:|---:|",
    ]
    for result in results:
        first_runs, last_runs = result["runs"]["first"], result["runs"]["last"]
        ratios = [b / a for a, b in zip(first_runs, last_runs, strict=True)]
        lines.append(
            f"| {result['server']} | {_spread(first_runs)} | {_spread(last_runs)} | "
            f"{statistics.median(ratios):.1f}x ({min(ratios):.1f}–{max(ratios):.1f}) | "
            f"{len(ratios)} |"
        )
    for backend, why in skipped.items():
        lines.append(f"| {backend} | skipped: {why} | | | |")
    lines += [
        "",
        "SQLite locks the whole database for writing from a transaction's first write to "
        "its commit, and the document's `INSERT` is that first write in both orders: "
        "drawing last shortens no lock there, and its extra `UPDATE` makes it no faster "
        "(a ratio of 1 or a little below). Only PostgreSQL and MariaDB (row locks) gain.",
        "",
        f"Python {platform.python_version()}, on this machine "
        f"({os.cpu_count()} cores, shared with other work unless stated otherwise).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="postgresql,mariadb,sqlite")
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of one run")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of each order")
    parser.add_argument("--work-ms", type=float, default=5.0)
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.processes < 1 or options.repeat < 1 or options.seconds <= 0:
        parser.error("--processes and --repeat must be at least 1, --seconds above 0")
    if options.worker:
        result = backend_run(
            options.worker, options.processes, options.seconds, options.repeat, options.work_ms
        )
        print(json.dumps(result))
        return 0
    from benchmarks import databases

    results, skipped = [], {}
    for backend in options.backends.split(","):
        why = databases.reachable(backend)
        if why is not None:
            skipped[backend] = why
            print(f"{backend}: skipped, {why}", file=sys.stderr)
            continue
        completed = subprocess.run(
            [sys.executable, "-m", "benchmarks.lockhold", "--worker", backend,
             "--processes", str(options.processes), "--seconds", str(options.seconds),
             "--repeat", str(options.repeat), "--work-ms", str(options.work_ms)],
            cwd=ROOT, capture_output=True, text=True, check=False,
            env={**os.environ, "SEQUENCES_TEST_BACKEND": backend},
        )  # fmt: skip
        if completed.returncode:
            sys.stderr.write(completed.stdout[-3000:] + completed.stderr[-3000:])
            return completed.returncode
        result = json.loads(completed.stdout.strip().splitlines()[-1])
        print(json.dumps(result), flush=True)
        results.append(result)
    text = write_results(results, skipped)
    if not options.no_write:
        options.output.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
