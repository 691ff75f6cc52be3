"""What a hot sequence costs past one server: ``make bench-multiserver``.

A throwaway primary and synchronous standby (``tests/multiserver/cluster.py``:
free ports, a temporary directory, removed afterwards; fsync on, as in
production), on this one machine: the standby's round trip is a loopback one,
so a real network adds its latency to every synchronous figure. Each step runs
for ``--seconds``; each transaction draws through this package, inserts a
document row and commits:

- ``synchronous_commit`` at ``local`` (the standby is not waited for), ``on``
  (the standby has flushed the commit) and ``remote_apply`` (it has applied it);
- one client on one sequence, 8 clients on one sequence, 8 clients on 16
  scoped sequences (``invoices-0`` ... ``invoices-15``).

Prints a Markdown table (commits per second, median and 95th percentile commit
latency); ``--output`` also writes it to a file.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCOPES = 16
CLIENTS = 8
CREATE_DOCUMENTS = "CREATE TABLE document (id serial PRIMARY KEY, number bigint NOT NULL)"
INSERT_DOCUMENT = "INSERT INTO document (number) VALUES (%s)"


def run_step(alias: str, clients: int, scopes: int, seconds: float) -> list[float]:
    from django.db import connections, transaction

    from sequences import get_next_value

    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    def client(number: int) -> None:
        chance = random.Random(number)
        own: list[float] = []
        try:
            while time.monotonic() < deadline:
                name = f"invoices-{chance.randrange(scopes)}" if scopes > 1 else "invoices"
                started = time.perf_counter()
                with transaction.atomic(using=alias):
                    value = get_next_value(name, using=alias)
                    with connections[alias].cursor() as cursor:
                        cursor.execute(INSERT_DOCUMENT, [value])
                own.append(time.perf_counter() - started)
        finally:
            connections[alias].close()
            latencies.extend(own)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.db import connections

    from tests.multiserver import cluster
    from tests.multiserver.aliases import add_alias, migrate, remove_alias

    reason = cluster.missing()
    if reason:
        print(f"Cannot run: {reason}", file=sys.stderr)
        return 1
    root = cluster.make_directory()
    rows = []
    try:
        primary = cluster.Cluster.primary(
            root, settings="fsync = on\nfull_page_writes = on\nsynchronous_standby_names = '*'\n"
        )
        cluster.Cluster.standby_of(primary)
        deadline = time.monotonic() + 30
        sync = "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'"
        while primary.query(sync)[0][0] != 1:
            if time.monotonic() > deadline:
                raise RuntimeError("the standby did not become synchronous")
            time.sleep(0.05)
        add_alias("multi_bench", host="127.0.0.1", port=str(primary.port))
        migrate("multi_bench")
        version = primary.query("SHOW server_version")[0][0]
        with connections["multi_bench"].cursor() as cursor:
            cursor.execute(CREATE_DOCUMENTS)
        remove_alias("multi_bench")
        for level in ("local", "on", "remote_apply"):
            alias = f"multi_bench_{level}"
            add_alias(
                alias,
                host="127.0.0.1",
                port=str(primary.port),
                options=f"-c synchronous_commit={level}",
            )
            for clients, scopes in ((1, 1), (CLIENTS, 1), (CLIENTS, SCOPES)):
                latencies = sorted(run_step(alias, clients, scopes, args.seconds))
                rows.append(
                    (
                        level,
                        clients,
                        scopes,
                        len(latencies) / args.seconds,
                        statistics.median(latencies) * 1000,
                        latencies[int(len(latencies) * 0.95)] * 1000,
                    )
                )
                print(f"  {rows[-1]}", file=sys.stderr, flush=True)
            remove_alias(alias)
    finally:
        cluster.remove(root)

    lines = [
        "# A hot sequence with a synchronous standby (`make bench-multiserver`)",
        "",
        f"{time.strftime('%Y-%m-%d', time.gmtime())}, {os.cpu_count()} CPUs, PostgreSQL"
        f" {version}, primary and standby on this machine (loopback), fsync on,"
        f" {args.seconds:g} s per step. Each transaction: one draw, one insert, commit.",
        "",
        "| synchronous_commit | clients | sequences | commits/s | median ms | p95 ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for level, clients, scopes, rate, median, p95 in rows:
        lines.append(
            f"| `{level}` | {clients} | {scopes} | {rate:.0f} | {median:.2f} | {p95:.2f} |"
        )
    table = "\n".join(lines) + "\n"
    print(table)
    if args.output:
        args.output.write_text(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
