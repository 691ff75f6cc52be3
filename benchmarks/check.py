"""``make bench-check``: the cost of ``sequence_check`` on 1,000,000 documents per backend.

Reported as a multiple of ``SELECT COUNT(*)`` on the same table, the cheapest
full read a database offers: the target for ``--sequence`` is at most 3x.
``--series`` parses every number in Python and is shown for scale.

Each backend runs in a process of its own (Django's settings are per process)
on a database named ``seq_bench_check`` that this script creates and drops.
Not part of ``make bench``: filling a million rows takes a while.

    python -m benchmarks.check [--rows N] [--backends sqlite,postgresql,mariadb]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "RESULTS-check.md"
SUFFIX = "_check"

COUNT_SQL = "SELECT COUNT(*) FROM {table}"
# A count that has to read every number (SQLite's COUNT(*) reads none: it
# counts the b-tree's cells), for a floor that SQLite can be compared with.
COUNT_NUMBER_SQL = "SELECT COUNT(number) FROM {table}"

# One statement per backend that writes ``%s`` documents numbered 1..N, with
# the same numbers formatted as the benchmark series formats them.
FILL_SQL = {
    "postgresql": (
        "INSERT INTO testapp_document (number, reference, kind) "
        "SELECT g, 'INV-2026-' || lpad(g::text, 7, '0'), '' FROM generate_series(1, %s) g"
    ),
    # seq_1_to_N comes from MariaDB's Sequence engine (built in since 10.1).
    "mariadb": (
        "INSERT INTO testapp_document (number, reference, kind) "
        "SELECT seq, CONCAT('INV-2026-', LPAD(seq, 7, '0')), '' FROM seq_1_to_{rows}"
    ),
    "sqlite": (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < %s) "
        "INSERT INTO testapp_document (number, reference, kind) "
        "SELECT x, 'INV-2026-' || printf('%%07d', x), '' FROM c"
    ),
}
# The same numbers in a table where they are unique (testapp.Ticket), the
# usual shape of an invoice table: the check needs no grouping there.
FILL_UNIQUE_SQL = (
    "INSERT INTO testapp_ticket (number, sequence_name) "
    "SELECT number, 'bench' FROM testapp_document ORDER BY number"
)
# Both tables in the steady state that autovacuum keeps them in (PostgreSQL's
# index-only scans need the visibility map that VACUUM sets).
ANALYZE_SQL = {
    "postgresql": ["VACUUM ANALYZE testapp_document", "VACUUM ANALYZE testapp_ticket"],
    "mariadb": ["ANALYZE TABLE testapp_document, testapp_ticket"],
    "sqlite": ["ANALYZE"],
}


def _median_seconds(action: Any, repeat: int) -> float:
    action()  # warm the caches: every figure is for a warm table
    timings = []
    for _ in range(repeat):
        began = time.perf_counter()
        action()
        timings.append(time.perf_counter() - began)
    return statistics.median(timings)


def worker(backend: str, rows: int) -> dict[str, Any]:
    from benchmarks import databases, settings

    entry = settings.database(backend, SUFFIX)
    name = str(entry["NAME"])
    databases.drop_database(backend, name)
    databases.create_database(backend, name)

    databases.setup_django(entry)
    from django.core.management import call_command
    from django.db import connection

    from sequences import NumberSeries
    from sequences.check import check_sequence, check_series
    from sequences.models import Sequence
    from tests.testapp.models import Document, Ticket

    try:
        call_command("migrate", verbosity=0)
        began = time.perf_counter()
        with connection.cursor() as cursor:
            if backend == "mariadb":
                cursor.execute(FILL_SQL[backend].format(rows=int(rows)))
            else:
                cursor.execute(FILL_SQL[backend], [rows])
            cursor.execute(FILL_UNIQUE_SQL)
            for statement in ANALYZE_SQL[backend]:
                cursor.execute(statement)
        filled = time.perf_counter() - began
        Sequence.objects.create(name="bench", last=rows)
        Sequence.objects.create(name="inv.2026", last=rows)
        series = NumberSeries("inv", format="INV-{year}-{value:07d}", period="year")
        # The same numbers, read as a series of a tenth of the size (the
        # documents up to rows/10), to compare the client memory of the two.
        tenth = rows // 10
        Sequence.objects.create(name="tenth.2026", last=tenth)
        tenth_series = NumberSeries("tenth", format="INV-{year}-{value:07d}", period="year")

        def count(table: str, sql: str = COUNT_SQL) -> None:
            with connection.cursor() as cursor:
                cursor.execute(sql.format(table=table))
                assert cursor.fetchone()[0] == rows

        def by_sequence() -> None:
            assert check_sequence(Document, "number", "bench").clean

        def by_sequence_filtered() -> None:
            # A filter that keeps every row: the index alone cannot answer.
            assert check_sequence(Document, "number", "bench", filters={"kind": ""}).clean

        def by_sequence_unique() -> None:
            assert check_sequence(Ticket, "number", "bench").clean

        def by_sequence_unique_filtered() -> None:
            # Every ticket's sequence_name is "bench": lookups on (sequence_name, number).
            filters = {"sequence_name": "bench"}
            assert check_sequence(Ticket, "number", "bench", filters=filters).clean

        def by_series() -> None:
            assert check_series(Document, "reference", series).clean

        def series_peak(checked: NumberSeries, **filters: str) -> int:
            """The largest client memory (Python allocations) of one --series check."""
            tracemalloc.start()
            try:
                report = check_series(Document, "reference", checked, filters=filters)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            assert report.clean
            return peak

        count_seconds = _median_seconds(lambda: count("testapp_document"), 5)
        count_number_seconds = _median_seconds(
            lambda: count("testapp_document", COUNT_NUMBER_SQL), 5
        )
        sequence_seconds = _median_seconds(by_sequence, 3)
        filtered_seconds = _median_seconds(by_sequence_filtered, 3)
        unique_count_seconds = _median_seconds(lambda: count("testapp_ticket"), 5)
        unique_seconds = _median_seconds(by_sequence_unique, 3)
        unique_filtered_seconds = _median_seconds(by_sequence_unique_filtered, 3)
        began = time.perf_counter()
        by_series()
        series_seconds = time.perf_counter() - began
        tenth_peak = series_peak(tenth_series, number__lte=str(tenth))
        series_peak_bytes = series_peak(series)
        return {
            "backend": backend,
            "rows": rows,
            "fill_seconds": filled,
            "count_seconds": count_seconds,
            "sequence_seconds": sequence_seconds,
            "unique_count_seconds": unique_count_seconds,
            "unique_seconds": unique_seconds,
            "unique_filtered_seconds": unique_filtered_seconds,
            "series_seconds": series_seconds,
            "count_number_seconds": count_number_seconds,
            "filtered_seconds": filtered_seconds,
            "tenth_rows": tenth,
            "tenth_peak_bytes": tenth_peak,
            "series_peak_bytes": series_peak_bytes,
        }
    finally:
        connection.close()
        databases.drop_database(backend, name)


def write_results(results: list[dict[str, Any]]) -> str:
    def ms(seconds: float) -> str:
        return f"{seconds * 1000:,.0f} ms"

    lines = [
        "# `sequence_check` on a million documents",
        "",
        "`make bench-check` (`python -m benchmarks.check`): a table of "
        f"{results[0]['rows']:,} documents numbered 1..N without a gap, per backend, on this "
        "machine (2 cores). Times are medians of warm runs (one "
        "run for `--series`); each ratio is to `SELECT COUNT(*)` of the same table. Target "
        "for `--sequence`: at most 3x.",
        "",
        "- *unique*: `testapp.Ticket`, whose `number` is unique (as invoice numbers usually "
        "are): the totals are index lookups beside the count of rows. *filtered*: with "
        "`--filter sequence_name=bench` (every row kept), which the index on "
        "`(sequence_name, number)` answers by lookups too, as the demo's `(year, number)` "
        "does for `--filter year=`.",
        "- *not unique*: `testapp.Document`, whose `number` is indexed but not unique: the "
        "check also counts the distinct numbers along the index (PostgreSQL: in ranges of "
        "100,000 values that its parallel workers share), which finds duplicates. "
        "*filtered*: the same with `--filter kind=` (every row kept), "
        "where the index alone cannot answer and the check scans the table, as it does for a "
        "number without an index.",
        "- *COUNT(number)*: `SELECT COUNT(number)` of `testapp.Document`, a count that reads "
        "every number (SQLite's `COUNT(*)` reads none), and the not-unique checks' ratios to "
        "it (unfiltered, filtered).",
        "- `--series`: `testapp.Document.reference`, every number parsed in Python.",
        "",
        "| Backend | COUNT(*) | --sequence, unique | ratio | filtered | ratio "
        "| --sequence, not unique | ratio | filtered | ratio | COUNT(number) | ratios "
        "| --series | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        count = result["count_seconds"]
        unique_count = result["unique_count_seconds"]
        count_number = result["count_number_seconds"]
        lines.append(
            f"| {result['backend']} | {ms(unique_count)} / {ms(count)} | "
            f"{ms(result['unique_seconds'])} | {result['unique_seconds'] / unique_count:.1f}x | "
            f"{ms(result['unique_filtered_seconds'])} | "
            f"{result['unique_filtered_seconds'] / unique_count:.1f}x | "
            f"{ms(result['sequence_seconds'])} | {result['sequence_seconds'] / count:.1f}x | "
            f"{ms(result['filtered_seconds'])} | {result['filtered_seconds'] / count:.1f}x | "
            f"{ms(count_number)} | {result['sequence_seconds'] / count_number:.1f}x, "
            f"{result['filtered_seconds'] / count_number:.1f}x | "
            f"{result['series_seconds']:.1f} s | {result['series_seconds'] / count:.0f}x |"
        )
    lines += [
        "",
        "Client memory of `--series` (peak of Python's allocations, `tracemalloc`), for the "
        "documents up to a tenth of the table checked against a series whose sequence ends "
        "there, and for the whole table:",
        "",
        f"| Backend | {results[0]['tenth_rows']:,} documents | {results[0]['rows']:,} documents |",
        "|---|---:|---:|",
    ]
    for result in results:
        lines.append(
            f"| {result['backend']} | {result['tenth_peak_bytes'] / 1024:,.0f} kB | "
            f"{result['series_peak_bytes'] / 1024:,.0f} kB |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backends", default="sqlite,postgresql,mariadb")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true", help="Do not write RESULTS-check.md.")
    options = parser.parse_args(argv)
    if options.worker:
        print(json.dumps(worker(options.worker, options.rows)))
        return 0
    results = []
    for backend in options.backends.split(","):
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.check",
                "--worker",
                backend,
                "--rows",
                str(options.rows),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={**os.environ, "SEQUENCES_TEST_BACKEND": backend},
            check=False,
        )
        if completed.returncode:
            sys.stderr.write(completed.stderr)
            return completed.returncode
        result = json.loads(completed.stdout.strip().splitlines()[-1])
        print(json.dumps(result), flush=True)
        results.append(result)
    text = write_results(results)
    if not options.no_write:
        RESULTS.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
