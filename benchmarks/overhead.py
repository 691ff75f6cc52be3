"""This package's own client CPU per draw, without Django and the driver.

    python -m benchmarks.overhead [--backends sqlite,postgresql,mariadb] [--calls N]
                                  [--repeat R] [--output FILE --label NAME]

Two measurements of the same thing, so that each checks the other:

- **profile**: cProfile's own time (``tottime``, wall clock) of every function
  whose file is in the ``sequences`` package, plus the built-ins those
  functions call (``isinstance``, ``time.monotonic``...; from cProfile's
  per-caller figures), minus the profiler's own cost per profiled call,
  calibrated on an empty function in the same process. Django
  (``connections[...]``, the router, ``connection.cursor()``) and the driver
  are left out. It overstates small Python functions (the calibration takes
  back only part of the profiler's cost): read it as an upper bound, and to
  compare runs.
- **difference**: ``time.process_time()`` of ``calls`` draws against the same
  number of the draw's own statement sent through Django's
  ``connection.cursor()`` (captured from the draw, so the same SQL and
  parameters), in the same transaction shape, over ``repeat`` interleaved
  repetitions. It includes the Django call this package makes that the floor
  does not (the router) and everything else the draw
  adds, such as SQLite's PRAGMAs. Its noise is that of the whole call.

On a shared machine other work only ever adds time, so the least of the
repetitions is the steadiest figure; medians and spreads are reported too.

Each path runs in two transaction shapes: every draw in its own ``atomic()``,
and all the draws of a repetition inside one outer ``atomic()``. Each backend
runs in its own process on a database ``<prefix>_overhead`` that this script
creates and drops. ``--output`` writes (or replaces) the section ``--label``
of a Markdown file, so one file can hold the figures before and after a
change.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import math
import os
import pstats
import re
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SUFFIX = "_overhead"
BACKENDS = ("sqlite", "postgresql", "mariadb")

#: The paths measured, with the keyword arguments of get_next_values.
PATHS: dict[str, dict[str, Any]] = {
    "plain": {},
    "nowait": {"nowait": True},
    "timeout=5": {"timeout": 5},
    "reset_value": {"reset_value": 10**12},
    "batch of 100": {"batch_size": 100},
    "first call": {"first": True},
}


# --- the worker: one backend, in its own process -----------------------------------------


def _setup(backend: str) -> str:
    from benchmarks import databases, settings

    entry = settings.database(backend, SUFFIX)
    name = str(entry["NAME"])
    databases.drop_database(backend, name)
    databases.create_database(backend, name)
    if backend == "sqlite":  # as the harness's databases: a file in WAL mode
        import sqlite3

        sqlite3.connect(name).execute("PRAGMA journal_mode = WAL").connection.close()

    import django
    from django.conf import settings as django_settings

    django_settings.configure(
        DATABASES={"default": entry},
        INSTALLED_APPS=settings.INSTALLED_APPS,
        USE_TZ=True,
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        SECRET_KEY="benchmarks only",
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return name


def _package_dir() -> str:
    import sequences

    return os.path.dirname(os.path.abspath(sequences.__file__)) + os.sep


def _calibrate() -> tuple[float, float]:
    """cProfile's own cost per profiled call, in seconds: (charged to the callee, to the caller).

    Measured on a loop that calls an empty function, against the same loop
    without the profiler: the callee's own time is all profiler (its body is
    empty), and what the caller's own time gains is the profiler's share
    charged to the caller.
    """

    def empty() -> None:
        pass

    def loop(count: int) -> None:
        for _ in range(count):
            empty()

    count = 50000
    callee, caller = [], []
    for _ in range(7):
        began = time.perf_counter()
        loop(count)
        unprofiled = (time.perf_counter() - began) / count
        profile = cProfile.Profile()
        profile.runcall(loop, count)
        stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
        for (_file, _line, name), (_cc, calls, tottime, _ct, _callers) in stats.items():
            if name == "empty":
                callee.append(tottime / calls)
            elif name == "loop":
                caller.append(tottime / count)
        caller[-1] -= unprofiled
    return statistics.median(callee), max(0.0, statistics.median(caller))


def _own_seconds(profile: cProfile.Profile, package: str, overhead: tuple[float, float]) -> float:
    """Time spent in this package's functions and in the built-ins they call directly.

    Less the profiler's calibrated cost: ``overhead[0]`` per call of a
    function counted, ``overhead[1]`` per call that a function counted makes.
    """
    callee, caller = overhead
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    total = 0.0
    for (file, _line, _name), (_cc, calls, tottime, _ct, callers) in stats.items():
        if file.startswith(package):
            total += tottime - callee * calls
        elif file == "~":  # a built-in: count the share called from our code
            for (caller_file, _l, _n), figures in callers.items():
                if caller_file.startswith(package):
                    total += figures[2] - callee * figures[1]
        # Every call made from our code costs its caller the profiler's share.
        for (caller_file, _l, _n), figures in callers.items():
            if caller_file.startswith(package):
                total -= caller * figures[1]
    return max(0.0, total)


class Path_:
    """One measured path: our call and the floor (its draw statement through Django's cursor)."""

    def __init__(self, label: str, options: dict[str, Any], backend: str) -> None:
        from django.db import connection

        self.label = label
        self.backend = backend
        options = dict(options)
        self.first = options.pop("first", False)
        self.batch_size = options.pop("batch_size", 1)
        self.options = options
        self.prefix = f"ov-{label.replace(' ', '-')}-{uuid.uuid4().hex[:6]}"
        self.counter = 0
        self.name = self.prefix
        # Capture the statements one draw sends; the floor sends the draw statement.
        captured: list[tuple[str, Any]] = []

        def capture(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            captured.append((sql, params))
            return execute(sql, params, many, context)

        from django.db import transaction

        with transaction.atomic(), connection.execute_wrapper(capture):
            self.ours()
        draws = [(sql, params) for sql, params in captured if "PRAGMA" not in sql.upper()]
        self.statements = len(captured)
        self.sql, params = draws[-1]
        self.params = list(params) if params is not None else None

    def next_name(self) -> str:
        if self.first:
            self.counter += 1
            return f"{self.prefix}-{self.counter}"
        return self.name

    def ours(self) -> None:
        # What a caller writes: get_next_value for one value, get_next_values for a batch.
        from sequences import get_next_value, get_next_values

        if self.batch_size == 1:
            get_next_value(self.next_name(), **self.options)
        else:
            get_next_values(self.batch_size, self.next_name(), **self.options)

    def floor(self) -> None:
        from django.db import connection

        params = self.params
        if self.first and params is not None:
            name = self.next_name()
            params = [name if value == self.prefix + "-1" else value for value in params]
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            if self.backend != "mariadb":
                cursor.fetchone()


def _shape(outer: bool) -> tuple[Callable[[], AbstractContextManager[Any]], ...]:
    from django.db import transaction

    if outer:
        return (transaction.atomic, nullcontext)
    return (nullcontext, transaction.atomic)


def _run(function: Callable[[], None], calls: int, outer: bool) -> None:
    around, each = _shape(outer)
    with around():
        for _ in range(calls):
            with each():
                function()


def _profiled(
    path: Path_, calls: int, outer: bool, package: str, overhead: tuple[float, float]
) -> float:
    profile = cProfile.Profile()
    profile.runcall(_run, path.ours, calls, outer)
    return _own_seconds(profile, package, overhead) / calls


def _differential(
    ours: Callable[[], None], floor: Callable[[], None], calls: int, repeat: int, outer: bool
) -> dict[str, float]:
    """Per-call process CPU of ``ours`` minus ``floor``, in microseconds.

    ``envelope``: the least CPU of a repetition of ours minus the least of
    the floor's (a busy machine only ever adds, so the lower envelopes are
    the steadiest figures); ``median``, ``min``, ``max``: of the paired
    differences of the repetitions.
    """
    differences = []
    least = {"ours": math.inf, "floor": math.inf}
    _run(ours, max(10, calls // 10), outer)  # warm both
    _run(floor, max(10, calls // 10), outer)
    for index in range(repeat):
        timings = {}
        order = (("ours", ours), ("floor", floor))
        for label, function in order if index % 2 == 0 else reversed(order):
            began = time.process_time()
            _run(function, calls, outer)
            timings[label] = time.process_time() - began
            least[label] = min(least[label], timings[label])
        differences.append((timings["ours"] - timings["floor"]) / calls)
    return {**_summary(differences), "envelope": (least["ours"] - least["floor"]) / calls * 1e6}


def _summary(samples: list[float]) -> dict[str, float]:
    return {
        "median": statistics.median(samples) * 1e6,
        "min": min(samples) * 1e6,
        "max": max(samples) * 1e6,
    }


@contextmanager
def _settings(**values: Any) -> Iterator[None]:
    from django.db import connection
    from django.test import override_settings

    connection.close()  # the replication watch is set up when a connection opens
    with override_settings(**values):
        connection.ensure_connection()
        yield
    connection.close()


def _micro(function: Callable[[], Any], count: int = 100000) -> float:
    """Microseconds per call of a tiny function, best of 5 (loop overhead subtracted)."""

    def nothing() -> None:
        pass

    def best(target: Callable[[], Any]) -> float:
        timings = []
        for _ in range(5):
            began = time.perf_counter()
            for _ in range(count):
                target()
            timings.append(time.perf_counter() - began)
        return min(timings) / count

    return max(0.0, best(function) - best(nothing)) * 1e6


def worker(backend: str, calls: int, repeat: int) -> dict[str, Any]:
    from benchmarks import databases

    name = _setup(backend)
    from django.db import connection

    try:
        package = _package_dir()
        overhead = _calibrate()
        connection.ensure_connection()
        results: dict[str, Any] = {
            "backend": backend,
            "calls": calls,
            "repeat": repeat,
            "profiler_overhead_us": [overhead[0] * 1e6, overhead[1] * 1e6],
            "paths": {},
            "features": {},
        }
        paths = {label: Path_(label, options, backend) for label, options in PATHS.items()}
        for label, path in paths.items():
            entry: dict[str, Any] = {"statements": path.statements}
            for shape, outer in (("atomic", False), ("outer", True)):
                profiled = [
                    _profiled(path, calls, outer, package, overhead) for _ in range(repeat)
                ]
                entry[f"profile_{shape}"] = _summary(profiled)
                entry[f"differential_{shape}"] = _differential(
                    path.ours, path.floor, calls, repeat, outer
                )
            results["paths"][label] = entry

        # The cost of each per-call feature: the plain path with it on and off.
        plain = paths["plain"]

        def feature(**values: Any) -> dict[str, Any]:
            with _settings(**values):
                profiled = [
                    _profiled(plain, calls, False, package, overhead) for _ in range(repeat)
                ]
                cpu = []
                for _ in range(repeat):
                    began = time.process_time()
                    _run(plain.ours, calls, False)
                    cpu.append((time.process_time() - began) / calls)
            return {"profile": _summary(profiled), "cpu": _summary(cpu)}

        features = results["features"]
        features["strict mode off"] = feature(SEQUENCES_REQUIRE_TRANSACTION=False)
        features["strict mode on"] = feature(SEQUENCES_REQUIRE_TRANSACTION=True)
        if backend == "postgresql":
            features["record_draw: watch on"] = feature(SEQUENCES_REPORT_UNREPLICATED_COMMITS=True)
            features["record_draw: watch off"] = feature(
                SEQUENCES_REPORT_UNREPLICATED_COMMITS=False
            )
        from sequences import conf

        conf.lock_timeout()
        results["settings_read_us"] = _micro(conf.lock_timeout)
        results["strict_check_off_us"] = _micro(conf.require_transaction)
        return results
    finally:
        connection.close()
        databases.drop_database(backend, name)


# --- the parent: one process per backend, then the report --------------------------------


def _us(summary: dict[str, float]) -> str:
    """Least, then median (and most): the least is the steadiest on a busy machine."""
    return f"{summary['min']:.1f} · {summary['median']:.1f} (max {summary['max']:.1f})"


def _diff(summary: dict[str, float]) -> str:
    return (
        f"{summary['envelope']:.1f} · {summary['median']:.1f} "
        f"({summary['min']:.1f} to {summary['max']:.1f})"
    )


def report(results: list[dict[str, Any]], label: str) -> str:
    lines = [f"## {label}", ""]
    if not results:
        return "\n".join([*lines, "No backend could be measured.", ""])
    first = results[0]
    lines += [
        f"{first['calls']} draws per repetition, {first['repeat']} repetitions; "
        f"Python {sys.version.split()[0]}, Django {_django_version()}. Microseconds of client "
        "CPU per call. *profile* and *whole call*: least · median (max) of the repetitions. "
        "*difference*: least of ours minus least of the floor · median of the paired "
        "differences (min to max).",
        "",
    ]
    for result in results:
        lines += [
            f"### {result['backend']}",
            "",
            "Profiler cost subtracted: {:.2f} us per call counted, {:.2f} us per call it "
            "makes.".format(*result["profiler_overhead_us"]),
            "",
            "| path | statements | profile, own atomic() | profile, one outer atomic() "
            "| difference, own atomic() | difference, outer |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for path, entry in result["paths"].items():
            lines.append(
                f"| {path} | {entry['statements']} | {_us(entry['profile_atomic'])} | "
                f"{_us(entry['profile_outer'])} | {_diff(entry['differential_atomic'])} | "
                f"{_diff(entry['differential_outer'])} |"
            )
        lines += [
            "",
            "| feature (plain path, own atomic()) | profile, own code | whole call, CPU |",
            "|---|---:|---:|",
        ]
        for feature, entry in result["features"].items():
            lines.append(f"| {feature} | {_us(entry['profile'])} | {_us(entry['cpu'])} |")
        lines += [
            "",
            f"Reading a cached setting (`conf.lock_timeout()`): {result['settings_read_us']:.2f} "
            f"us; the strict-mode setting (`conf.require_transaction()`): "
            f"{result['strict_check_off_us']:.2f} us.",
            "",
        ]
    return "\n".join(lines)


def _django_version() -> str:
    import django

    return django.get_version()


HEADER = """# This package's own CPU per draw

Written by `python -m benchmarks.overhead --output benchmarks/RESULTS-overhead.md --label NAME`
(see the script's docstring). Microseconds of client CPU per call, on a shared 2-core machine.

- *profile*: cProfile's own time of the `sequences` package and of the built-ins it calls, less
  the profiler's calibrated cost per call. An upper bound: cProfile makes small Python functions
  several times slower than they run (`check_arguments` alone: 0.9 us unprofiled, about 8 us
  profiled), more than the calibration on an empty function takes back. Good for comparing runs.
- *difference*: process CPU of a draw minus that of its own statement sent through Django's
  cursor, in the same transaction shape. Unprofiled, and it also counts the Django call the
  draw makes that the floor does not (the router) and any extra statement (SQLite's PRAGMAs),
  but it carries the noise of the whole call (hundreds of microseconds of Django, driver and
  `atomic()`): small figures, and negative ones, are within that noise.
- Other work on the machine only ever adds time: the first figure of each cell, the least of
  the repetitions (for *difference*: the least of ours minus the least of the floor), is the
  steadiest. The median and the spread follow.

Target (issue 16): at most 10 us on PostgreSQL.
"""


def write_section(path: Path, label: str, section: str) -> None:
    text = path.read_text() if path.exists() else HEADER
    pattern = re.compile(rf"^## {re.escape(label)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text.rstrip("\n") + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--calls", type=int, default=100, help="Draws per repetition.")
    parser.add_argument("--repeat", type=int, default=15, help="Repetitions (interleaved).")
    parser.add_argument("--output", type=Path, help="Markdown file to write the section to.")
    parser.add_argument("--label", default="Results", help="The section's title in --output.")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.worker:
        print(json.dumps(worker(options.worker, options.calls, options.repeat)))
        return 0
    from benchmarks import databases

    results = []
    for backend in options.backends.split(","):
        if backend not in BACKENDS:
            parser.error(f"--backends takes {', '.join(BACKENDS)}, got {backend!r}")
        why = databases.reachable(backend)
        if why is not None:
            print(f"{backend}: skipped, {why}", file=sys.stderr)
            continue
        env = dict(os.environ, SEQUENCES_TEST_BACKEND=backend)
        command = [sys.executable, "-m", "benchmarks.overhead", "--worker", backend,
                   "--calls", str(options.calls), "--repeat", str(options.repeat)]  # fmt: skip
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return done.returncode
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    section = report(results, options.label)
    print(section)
    if options.output is not None:
        write_section(options.output, options.label, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
