"""What the unreplicated-commit watch costs a draw: ``python -m benchmarks.replication_watch``.

``sequences.replication.record_draw`` runs after every draw. This times it on
a real PostgreSQL connection (the test settings' server, database
``postgres``; nothing is written: no draw runs, and a transaction with no
statement sends none), best of several rounds:

- ``draw in an open transaction``: one more draw in a transaction that has
  drawn already (a list append);
- ``first draw of a transaction``: the commit hook registered, then run as
  Django runs it at COMMIT (the transaction itself, tens of microseconds that
  a busy machine moves by more than the hook costs, is left out);
- ``another vendor``: the early return on SQLite.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable

import django
from django.conf import settings

ROUNDS = 7


def configure() -> None:
    settings.configure(
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": "postgres",
                "USER": os.environ.get("PGUSER", "postgres"),
                "HOST": os.environ.get("PGHOST", "127.0.0.1"),
                "PORT": os.environ.get("PGPORT", "5432"),
            },
            "lite": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": os.path.join(tempfile.gettempdir(), "replication_watch.sqlite3"),
            },
        },
        INSTALLED_APPS=["sequences"],
        USE_TZ=True,
    )
    django.setup()


def best(function: Callable[[int], None], count: int) -> float:
    """Microseconds per iteration, best of ROUNDS."""
    timings = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        function(count)
        timings.append((time.perf_counter() - started) / count * 1e6)
    return min(timings)


def main() -> None:
    configure()
    from django.db import connections, transaction

    from sequences.replication import record_draw

    connection = connections["default"]
    connection.ensure_connection()
    values = range(1, 2)

    def appends(count: int) -> None:
        with transaction.atomic():
            for _ in range(count):
                record_draw(connection, "invoices", values)

    def first_draws(count: int) -> None:
        with transaction.atomic():
            for _ in range(count):
                record_draw(connection, "invoices", values)  # registers the report
                # What Django does at COMMIT: take the hooks, run them.
                hooks, connection.run_on_commit = connection.run_on_commit, []
                for entry in hooks:
                    entry[1]()

    lite = connections["lite"]

    def other_vendor(count: int) -> None:
        for _ in range(count):
            record_draw(lite, "invoices", values)

    def empty(count: int) -> None:
        for _ in range(count):
            pass

    loop = best(empty, 200_000)
    append = best(appends, 200_000) - loop
    first = best(first_draws, 100_000) - loop
    vendor = best(other_vendor, 200_000) - loop
    print(f"record_draw, microseconds per draw (best of {ROUNDS} rounds)")
    print(f"  draw in an open transaction  {append:6.2f}")
    print(f"  first draw of a transaction  {first:6.2f}")
    print(f"  another vendor (SQLite)      {vendor:6.2f}")
    connections.close_all()


if __name__ == "__main__":
    main()
