"""The benchmark harness: ours against the Django floor, the raw driver and django-sequences 3.1.

``python -m benchmarks`` (``make bench``) times every case on every reachable
backend and writes ``benchmarks/RESULTS.md``; ``--smoke`` (``make
bench-smoke``, and ``tests/test_benchmarks.py``) runs every case a hundred
times and checks only correctness: values unique and contiguous, one statement
per call inside the caller's transaction.

The implementations run in worker processes (``benchmarks/worker.py``; ours
and the Django floor share one), pinned to one CPU with their server
sessions, and the harness asks them in turn, slice by slice, in an order that
gives every implementation each neighbour on both sides as often
(:func:`turn_order`), so that they share the machine's noise. The targets are
against the Django floor: the same SQL as ours, sent through Django's cursor
(issue 16 retired the ratios to the raw driver, which no code inside
``atomic()`` can reach).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import databases

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORKER = HERE / "worker.py"
BACKENDS = ("postgresql", "mariadb", "sqlite")
#: The implementations; ``*_pg2`` run the same worker on psycopg2 (PostgreSQL only).
IMPLS = ("raw", "django", "ours", "v31", "raw_pg2", "django_pg2", "ours_pg2")
PSYCOPG2_IMPLS = ("raw_pg2", "django_pg2", "ours_pg2")
LABELS = {
    "raw": "raw driver",
    "django": "Django floor",
    "ours": "ours",
    "v31": "django-sequences 3.1",
    "raw_pg2": "raw psycopg2",
    "django_pg2": "Django floor, psycopg2",
    "ours_pg2": "ours, psycopg2",
    "django_again": "Django floor, again",
}
V31_REQUIREMENTS = ["django-sequences==3.1", "psycopg[binary]>=3.1", "mysqlclient>=2.2"]
PSYCOPG2_REQUIREMENTS = ["psycopg2-binary>=2.9"]

Case = dict[str, Any]


def case(kind: str, name: str, batch: int = 1, alias: str = "default") -> Case:
    return {"kind": kind, "name": name, "batch": batch, "alias": alias}


#: (label, case); ``big`` is the same steady-state call on a table that holds
#: 1,000,000 other sequences.
CASES: list[tuple[str, Case]] = [
    ("steady state", case("plain", "steady")),
    ("first call", case("first", "first")),
    ("nowait=True", case("nowait", "nowait")),
    ("timeout=5", case("timeout", "timeout")),
    ("reset_value", case("reset", "reset")),
    ("batch of 1", case("batch", "batch1", 1)),
    ("batch of 10", case("batch", "batch10", 10)),
    ("batch of 100", case("batch", "batch100", 100)),
    ("batch of 1000", case("batch", "batch1000", 1000)),
    ("steady, 1M other sequences", case("plain", "steady", alias="big")),
]
BIG = "steady, 1M other sequences"
#: Case -> least ours/Django floor (issue 16), on every backend.
FLOOR_TARGETS = {
    "steady state": 0.97,
    "nowait=True": 0.95,
    "timeout=5": 0.95,
    "reset_value": 0.95,
    "batch of 1": 0.95,
    "batch of 10": 0.95,
    "batch of 100": 0.95,
    "batch of 1000": 0.95,
}
#: Least median of the paired ratios ours/django-sequences 3.1, on every path.
V31_TARGET = 0.99
#: Least ours/Django floor with 16 processes, at the same concurrency.
CONTENTION_TARGET = 0.95
BIG_TARGET = 1.10
MODES = {"shared": "one sequence", "own": "one sequence each"}


@dataclass
class Options:
    smoke: bool
    reps: int
    calls: int
    big_rows: int
    concurrency: tuple[int, ...]
    contention_reps: int
    contention_seconds: float
    contention_calls: int
    count_calls: int
    v31_python: str | None
    psycopg2_python: str | None = None
    worker_python: str = sys.executable
    notes: list[str] = field(default_factory=list)


#: Contention: the Django floor runs a second time in every round, as if it were
#: another implementation. The same code against itself: how far the method
#: puts two equal implementations apart.
AGAIN = "django_again"


def role(impl: str) -> str:
    """What the worker script calls ``impl``: the psycopg2 runs are the same implementations."""
    return "django" if impl == AGAIN else impl.removesuffix("_pg2")


#: Contention runs at the highest process count last this many times longer:
#: there SQLite's busy handler sleeps 1 to 100 ms at a time, and runs of half a
#: second put the floor 0.59 to 1.72 times itself (12 runs; runs of 2 s: 0.86
#: to 1.33; of 1.5 s, in make bench: 0.83 to 1.29).
TOP_RUN_FACTOR = 3


class WorkerProcess:
    """One ``benchmarks/worker.py`` process and its line protocol."""

    def __init__(self, impl: str, backend: str, python: str) -> None:
        env = dict(os.environ, SEQUENCES_TEST_BACKEND=backend, PYTHONDONTWRITEBYTECODE="1")
        env.pop("DJANGO_SETTINGS_MODULE", None)
        env.pop("PYTHONPATH", None)
        self.impl = impl
        self.process = subprocess.Popen(
            [python, str(WORKER), ",".join(map(role, impl.split(",")))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=tempfile.gettempdir(),
            text=True,
            bufsize=1,
        )

    def send(self, command: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()

    def receive(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            code = self.process.wait()
            raise RuntimeError(f"{self.impl} worker exited ({code}); see its stderr above")
        result: dict[str, Any] = json.loads(line)
        if "error" in result:
            raise RuntimeError(f"{self.impl} worker: {result['error']}")
        return result

    def ask(self, command: dict[str, Any]) -> dict[str, Any]:
        self.send(command)
        return self.receive()

    def stop(self) -> None:
        self.ask_to_exit()
        self.wait()

    def ask_to_exit(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                self.send({"op": "exit"})

    def wait(self) -> None:
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            # SIGTERM first: the worker gives its pinned server threads their CPUs back.
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def stop_workers(workers: list[WorkerProcess]) -> None:
    """All at once: each exits in parallel with the others."""
    for worker in workers:
        worker.ask_to_exit()
    for worker in workers:
        worker.wait()


@dataclass
class BackendResult:
    backend: str
    version: str
    impls: list[str]
    #: label -> impl -> [seconds per repetition, the sum of its slices]
    seconds: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    #: label -> impl -> [client CPU seconds per repetition]
    cpu: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    #: label -> impl -> {"own": {...}, "inside": {...}}
    statements: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    #: "K/mode" -> impl -> [run summaries]
    contention: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    big_rows: int = 0
    seconds_total: float = 0.0
    #: impl -> the worker's Python, Django and driver versions
    info: dict[str, dict[str, str]] = field(default_factory=dict)
    #: How the single-client cases' processes were pinned to a CPU (``_pin``).
    pinning: str = ""
    #: impl -> the pid of the worker process that ran its single-client cases.
    pids: dict[str, int] = field(default_factory=dict)


#: Implementation -> the one whose worker process it shares in the single-client
#: cases: the Django floor runs beside ours, in the same interpreter and on the
#: same connection, so that their ratio holds ours' code and nothing else.
#: Between two processes a few microseconds per call differ from one run to the
#: next (memory layout, hash seed, the garbage collector's work): up to 4% of a
#: SQLite call, more than the difference being measured.
SHARES_PROCESS_WITH = {"django": "ours", "django_pg2": "ours_pg2"}


def start_processes(
    impls: list[str], backend: str, pythons: dict[str, str]
) -> dict[str, WorkerProcess]:
    """One worker process per implementation, or per group that shares one: impl -> process."""
    return {impl: pool[0] for impl, pool in start_pools(impls, backend, pythons, 1).items()}


def start_pools(
    impls: list[str], backend: str, pythons: dict[str, str], count: int
) -> dict[str, list[WorkerProcess]]:
    """``count`` worker processes per implementation, or per group that shares them."""
    groups: dict[str, list[str]] = {}
    for impl in impls:
        host = SHARES_PROCESS_WITH.get(impl, impl)
        groups.setdefault(host if host in impls else impl, []).append(impl)
    pools: dict[str, list[WorkerProcess]] = {}
    started: list[WorkerProcess] = []
    try:
        for host, members in groups.items():
            pool = []
            for _ in range(count):
                pool.append(WorkerProcess(",".join(members), backend, pythons[host]))
                started.append(pool[-1])
            for member in members:
                pools[member] = pool
        for process in started:
            process.receive()  # the "ready" line: Django is set up
    except BaseException:
        stop_workers(started)
        raise
    return pools


def processes(workers: dict[str, WorkerProcess]) -> list[WorkerProcess]:
    """Each worker process once."""
    return list({id(worker): worker for worker in workers.values()}.values())


def rotated(items: list[Any], by: int) -> list[Any]:
    by %= len(items)
    return items[by:] + items[:by]


def applicable(impl: str, label: str) -> bool:
    # django-sequences 3.1 ignores ``using`` on its ORM path (SQLite, nowait,
    # reset_value): it would not touch the 1M-row database at all. It has no
    # timeout. The psycopg2 workers skip the 1M-row table.
    if impl == "v31":
        return label not in (BIG, "timeout=5")
    return not (impl in PSYCOPG2_IMPLS and label == BIG)


def check_block(label: str, kase: Case, n: int, result: dict[str, Any]) -> str | None:
    first, last = result["first"], result["last"]
    if kase["kind"] == "first":
        ok = first == last == kase["batch"]
    elif kase["kind"] == "reset":
        # 1 to 999, then 1 again: n calls in a row move n - 1 steps round that cycle.
        ok = 1 <= first < 1000 and 1 <= last < 1000 and (last - first) % 999 == (n - 1) % 999
    else:
        ok = last - first == (n - 1) * kase["batch"]
    if ok:
        return None
    return f"{label}: values not contiguous ({n} calls, first {first}, last {last})"


def run_backend(backend: str, options: Options, log: Any) -> BackendResult:
    started = time.perf_counter()
    impls = ["raw", "django", "ours"]
    impls += ["v31"] if options.v31_python else []
    if backend == "postgresql" and options.psycopg2_python:
        impls += list(PSYCOPG2_IMPLS)
    result = BackendResult(backend, databases.server_version(backend), impls)
    pythons = dict.fromkeys(("raw", "django", "ours"), options.worker_python)
    pythons["v31"] = options.v31_python or ""
    pythons.update(dict.fromkeys(PSYCOPG2_IMPLS, options.psycopg2_python or ""))
    log(f"\n=== {backend} ({result.version}): {', '.join(LABELS[i] for i in impls)}")
    databases.create_databases(backend)
    workers: dict[str, WorkerProcess] = {}
    try:
        # Tables first: the Django floor's workers capture ours' SQL by calling it.
        # In a worker of its own: the objects a migration leaves behind would make
        # every garbage collection of a measured worker longer than the others'.
        migrator = start_processes(["ours"], backend, pythons)["ours"]
        try:
            migrator.ask({"op": "migrate", "impl": "ours"})
        finally:
            stop_workers([migrator])
        workers = start_processes(impls, backend, pythons)
        result.pids = {impl: worker.process.pid for impl, worker in workers.items()}
        result.info = {
            impl: worker.ask({"op": "info", "impl": role(impl)})
            for impl, worker in workers.items()
        }
        log(f"  filling the big table with {options.big_rows:,} sequences (raw driver)")
        databases.fill(backend, "big", options.big_rows)
        result.big_rows = databases.count_rows(backend, "big")
        for worker in processes(workers):
            worker.ask({"op": "connect", "alias": "default"})
            worker.ask({"op": "connect", "alias": "big"})
        _pin(result, workers, log)
        _micro(result, workers, options, log)
        _count(result, workers, options, log)
    finally:
        for worker in processes(workers):  # MariaDB hands its threads to later connections
            with contextlib.suppress(RuntimeError, OSError):
                worker.ask({"op": "close"})
        stop_workers(processes(workers))
    try:
        _contention(result, pythons, options, log)
    finally:
        databases.drop_databases(backend)
    result.seconds_total = time.perf_counter() - started
    return result


#: SQLite's calls are the shortest (about a quarter of a millisecond, mostly
#: the commit's fsync, whose time varies from one call to the next): its blocks
#: have this many times the calls, so that the paired ratios spread less.
SQLITE_BLOCK_FACTOR = 2


def block_calls(backend: str, options: Options) -> int:
    """Calls per block of one repetition on ``backend``."""
    if backend == "sqlite" and not options.smoke:
        return options.calls * SQLITE_BLOCK_FACTOR
    return options.calls


def pin_cpu() -> int | None:
    """The CPU the single-client cases run on: the last this process may use, if it has two."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    return cpus[-1] if len(cpus) > 1 else None


def _pin(result: BackendResult, workers: dict[str, WorkerProcess], log: Any) -> None:
    cpu = pin_cpu()
    if cpu is None:
        result.pinning = "not pinned (one CPU, or no sched_setaffinity here)"
        return
    replies = [worker.ask({"op": "pin", "cpu": cpu}) for worker in processes(workers)]
    missed = sorted({reason for reply in replies for reason in reply["missed"]})
    sessions = sum(reply["sessions"] for reply in replies)
    if result.backend == "sqlite":
        result.pinning = f"every worker process pinned to CPU {cpu}"
    else:
        result.pinning = (
            f"every worker process and {sessions} server session(s) pinned to CPU {cpu}"
        )
    if missed:
        result.pinning += f"; {len(missed)} session(s) not pinned: {'; '.join(missed)}"
    log(f"  {result.pinning}")


#: Each repetition's block of calls runs in this many slices, the
#: implementations taking turns slice by slice: the machine's slow moments
#: (a slow fsync, another process) then fall on every implementation alike
#: instead of on one block. Between two identical workers, pinned, slices of
#: 10 to 20 calls spread the paired ratios three to five times less than
#: blocks of 200 (standard deviation 0.01-0.02 against 0.04-0.07).
SLICES = 20
#: Untimed calls before each slice: the first call after another process ran
#: finds the CPU's caches full of that process's code and data, and pays to
#: reload them. Not timed, so that a slice measures calls as a busy
#: application makes them, and not which process happened to run before.
WARM_CALLS = 1


def slice_sizes(calls: int, implementations: int) -> list[int]:
    """A repetition's ``calls`` cut into slices: about :data:`SLICES`, whole cycles of turns.

    A multiple of :func:`turn_order`'s cycle, ``2 n`` rounds: each repetition
    (one paired ratio) gives every implementation each neighbour on both
    sides as often.
    """
    cycle = 2 * implementations
    count = min(calls, max(cycle, round(SLICES / cycle) * cycle))
    return [calls // count + (i < calls % count) for i in range(count)]


def turn_order(impls: list[Any], turn: int) -> list[Any]:
    """Who runs when in round ``turn``: every neighbour on both sides, as often.

    Rounds go in cycles of ``2 n``: the ``n`` rotations of ``impls``
    reversed, then the ``n`` rotations forward, in an order where each round
    begins with the implementation the round before ended with. Over a
    cycle, each implementation runs right after each other one exactly as
    often as right before it, round boundaries included. Ours and the Django
    floor share a process: the one that runs right after the other finds
    warmer caches, and neither may have that more often.
    """
    n = len(impls)
    position = turn % (2 * n)
    if position < n:
        return rotated(impls, position)[::-1]
    return rotated(impls, 2 * n - 1 - position)


def _micro(
    result: BackendResult, workers: dict[str, WorkerProcess], options: Options, log: Any
) -> None:
    calls = block_calls(result.backend, options)
    log(
        f"  cases: {options.reps} repetitions of {calls} calls per implementation, "
        f"in about {SLICES} slices taking turns"
    )
    for label, kase in CASES:
        for impl in result.impls:
            if applicable(impl, label):  # warm-up: prepared statements, caches
                workers[impl].ask(
                    {"op": "run", "impl": role(impl), "case": kase, "n": min(20, options.calls)}
                )
    # The raw driver last: the one whose turns the cycle's two ends repeat
    # (an implementation right after itself), for 4 implementations.
    order = result.impls[1:] + result.impls[:1]
    for rep in range(options.reps):
        for label, kase in CASES:
            seconds: dict[str, float] = {}
            cpu: dict[str, float] = {}
            impls = [impl for impl in order if applicable(impl, label)]
            for index, size in enumerate(slice_sizes(calls, len(impls))):
                for impl in turn_order(impls, index):
                    reply = workers[impl].ask(
                        {
                            "op": "run",
                            "impl": role(impl),
                            "case": kase,
                            "n": size,
                            "warm": WARM_CALLS,
                        }
                    )
                    problem = check_block(f"{impl} {label}", kase, size, reply)
                    if problem:
                        result.problems.append(problem)
                    seconds[impl] = seconds.get(impl, 0.0) + reply["seconds"]
                    cpu[impl] = cpu.get(impl, 0.0) + reply["cpu"]
            for impl, spent in seconds.items():
                result.seconds.setdefault(label, {}).setdefault(impl, []).append(spent)
                result.cpu.setdefault(label, {}).setdefault(impl, []).append(cpu[impl])
            result.calls[label] = calls
        log(f"  repetition {rep + 1}/{options.reps} done")


def _count(
    result: BackendResult, workers: dict[str, WorkerProcess], options: Options, log: Any
) -> None:
    log("  counting statements per call (server counters / wire trace)")
    for label, kase in CASES:
        for impl in result.impls:
            # The PostgreSQL wire trace needs psycopg 3.
            if not applicable(impl, label) or impl in PSYCOPG2_IMPLS:
                continue
            n = max(1, options.count_calls // max(1, kase["batch"] // 100))
            counts = {
                mode: workers[impl].ask(
                    {
                        "op": "count",
                        "impl": role(impl),
                        "case": kase,
                        "n": n,
                        "inside": mode == "inside",
                    }
                )
                for mode in ("own", "inside")
            }
            result.statements.setdefault(label, {})[impl] = counts


def _contention(
    result: BackendResult, pythons: dict[str, str], options: Options, log: Any
) -> None:
    top = max(options.concurrency)
    contenders = [impl for impl in result.impls if impl not in PSYCOPG2_IMPLS]
    if options.smoke:  # correctness only: ours, and the raw driver's check of the harness
        contenders = ["raw", "ours"]
    log(f"  contention: {', '.join(map(str, options.concurrency))} processes")
    pools: dict[str, list[WorkerProcess]] = {}
    try:
        pools = start_pools(contenders, result.backend, pythons, top)
        entries = contenders
        if "django" in contenders:
            entries = [*contenders, AGAIN]
            pools[AGAIN] = pools["django"]
        for workers_count in options.concurrency:
            seconds = options.contention_seconds
            if workers_count == top and not options.smoke:
                seconds *= TOP_RUN_FACTOR
            for mode in ("shared", "own"):
                key = f"{workers_count}/{mode}"
                for rep in range(options.contention_reps):
                    for impl in _run_order(entries, rep):
                        workers = pools[impl][:workers_count]
                        summary = _contend(
                            [impl] * workers_count, workers, mode, seconds, options,
                            f"contend-{impl}",
                        )  # fmt: skip
                        if summary["problem"]:
                            # The published 3.1 is measured, not fixed: its failures
                            # are findings, not failures of this run.
                            (result.findings if impl == "v31" else result.problems).append(
                                f"{LABELS[impl]}, {key.replace('/', ' processes, ')}: "
                                f"{summary['problem']}"
                            )
                        result.contention.setdefault(key, {}).setdefault(impl, []).append(summary)
            log(f"  {workers_count} processes done")
    finally:
        stop_workers(list({id(w): w for pool in pools.values() for w in pool}.values()))


def _run_order(entries: list[str], rep: int) -> list[str]:
    """The contention runs' order: rotated, reversed every other run.

    Too few runs for :func:`turn_order`'s cycles, and each run opens its
    connections anew: what matters here is that no implementation always runs
    first, or always right after the same one.
    """
    order = rotated(entries, rep // 2)
    return order[::-1] if rep % 2 else order


def _contend(
    impls: list[str],
    workers: list[WorkerProcess],
    mode: str,
    seconds: float,
    options: Options,
    prefix: str,
) -> dict[str, Any]:
    """One run: ``workers[i]`` calls as ``impls[i]``, on sequences named from ``prefix``."""
    for index, (impl, worker) in enumerate(zip(impls, workers, strict=True)):
        name = prefix if mode == "shared" else f"{prefix}-{index}"
        worker.send(
            {
                "op": "contend",
                "impl": role(impl),
                "case": case("plain", name),
                "seconds": seconds,
                "max_calls": options.contention_calls,
            }
        )
    for worker in workers:
        worker.receive()
    at = time.time() + 0.05
    for worker in workers:
        worker.send({"op": "go", "at": at})
    busy_before = _cpu_times()
    replies = [worker.receive() for worker in workers]
    busy_after = _cpu_times()
    values = [reply["values"] for reply in replies]
    latencies = sorted(lat for reply in replies for lat in reply["latencies"])
    errors = [error for reply in replies for error in reply["errors"]]
    calls = sum(len(v) for v in values)
    problem = None
    if errors:
        problem = f"{len(errors)} calls failed, e.g. {errors[0]}"
    elif mode == "shared":
        every = sorted(v for vs in values for v in vs)
        if len(set(every)) != len(every):
            problem = "the same value was handed out twice"
        elif every and every != list(range(every[0], every[0] + len(every))):
            problem = "values are not contiguous"
    elif any(vs != list(range(vs[0], vs[0] + len(vs))) for vs in values if vs):
        problem = "a process's values are not contiguous"
    if calls == 0:
        problem = problem or "no call completed"
    seconds = max(reply["seconds"] for reply in replies)
    cores = os.cpu_count() or 1
    total = busy_after[1] - busy_before[1]
    return {
        "calls": calls,
        "throughput": calls / seconds if seconds else 0.0,
        "p50": _quantile(latencies, 0.50),
        "p99": _quantile(latencies, 0.99),
        "problem": problem,
        # The worker processes' CPU over what the machine's cores offered in the run.
        "client_cpu": sum(reply["cpu"] for reply in replies) / (seconds * cores)
        if seconds
        else 0.0,
        # Every process on the machine (servers, other load): /proc/stat.
        "machine_busy": 1 - (busy_after[0] - busy_before[0]) / total if total else float("nan"),
    }


def _cpu_times() -> tuple[float, float]:
    """(idle, total) jiffies of the machine since boot, or zeros where /proc/stat is missing."""
    try:
        fields = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return (0.0, 0.0)
    return (fields[3] + (fields[4] if len(fields) > 4 else 0.0), sum(fields[:8]))


def _quantile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


# Summaries.


def per_second(result: BackendResult, label: str, impl: str) -> list[float]:
    n = result.calls.get(label, 0)
    return [n / s for s in result.seconds.get(label, {}).get(impl, []) if s]


def ratios(result: BackendResult, label: str, impl: str, baseline: str = "raw") -> list[float]:
    """Per repetition: calls/s of ``impl`` over calls/s of ``baseline`` (paired, same rep)."""
    ours = result.seconds.get(label, {}).get(impl, [])
    base = result.seconds.get(label, {}).get(baseline, [])
    return [b / a for a, b in zip(ours, base, strict=False) if a]


def cpu_per_call(result: BackendResult, label: str, impl: str) -> float | None:
    """Median client CPU per call, in microseconds."""
    blocks = result.cpu.get(label, {}).get(impl, [])
    n = result.calls.get(label, 0)
    return statistics.median(blocks) / n * 1e6 if blocks and n else None


def big_ratios(result: BackendResult, impl: str) -> list[float]:
    """Per repetition: latency on the 1M-row table over latency on the empty one."""
    big = result.seconds.get(BIG, {}).get(impl, [])
    empty = result.seconds.get("steady state", {}).get(impl, [])
    return [b / e for b, e in zip(big, empty, strict=False) if e]


def contention_ratios(
    result: BackendResult, key: str, impl: str, baseline: str = "raw"
) -> list[float]:
    runs = result.contention.get(key, {})
    return [
        a["throughput"] / b["throughput"]
        for a, b in zip(runs.get(impl, []), runs.get(baseline, []), strict=False)
        if b["throughput"]
    ]


def spread(values: list[float], fmt: str = "{:.2f}") -> str:
    if not values:
        return "n/a"
    median = fmt.format(statistics.median(values))
    return f"{median} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def _median_row(target: str, values: list[float], least: float) -> tuple[str, str, bool]:
    median = statistics.median(values)
    return (target, spread(values), median >= least)


def targets(result: BackendResult) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for one backend."""
    rows: list[tuple[str, str, bool]] = []
    for label, least in FLOOR_TARGETS.items():
        values = ratios(result, label, "ours", baseline="django")
        if values:
            rows.append(_median_row(f"{label}: ours/Django floor ≥ {least:.2f}", values, least))
    for label, _ in CASES:
        values = ratios(result, label, "ours", baseline="v31")
        if values:
            rows.append(_median_row(f"{label}: ours/3.1 ≥ {V31_TARGET:.2f}", values, V31_TARGET))
    ours_cpu = cpu_per_call(result, "steady state", "ours")
    v31_cpu = cpu_per_call(result, "steady state", "v31")
    if result.backend == "postgresql" and ours_cpu is not None and v31_cpu is not None:
        rows.append(
            (
                "steady state: client CPU per call, ours ≤ 3.1",
                f"{ours_cpu:,.0f} µs vs {v31_cpu:,.0f} µs",
                ours_cpu <= v31_cpu,
            )
        )
    for label, per_impl in result.statements.items():
        inside = per_impl.get("ours", {}).get("inside")
        if inside:
            pragmas = inside["kinds"].get("PRAGMA", 0)
            rows.append(
                (
                    f"{label}: 1 statement per call inside the caller's transaction",
                    _kinds(inside) + (" ¹" if pragmas else ""),
                    data_statements(inside) == 1,
                )
            )
    key = f"{max(int(k.split('/')[0]) for k in result.contention)}" if result.contention else ""
    for mode in ("shared", "own"):
        values = contention_ratios(result, f"{key}/{mode}", "ours", baseline="django")
        if values:
            target, measured, met = _median_row(
                f"{key} processes, {MODES[mode]}: ours/Django floor ≥ {CONTENTION_TARGET:.2f}",
                values,
                CONTENTION_TARGET,
            )
            # Whether the CPU, not the row lock, bounded these runs.
            ours = result.contention[f"{key}/{mode}"]["ours"]
            busy = statistics.median(run["machine_busy"] for run in ours)
            clients = statistics.median(run["client_cpu"] for run in ours)
            measured += f"; machine {busy:.0%} busy, workers {clients:.0%} of the CPU"
            again = contention_ratios(result, f"{key}/{mode}", AGAIN, baseline="django")
            if again:
                measured += f"; the floor against itself {spread(again)}"
            rows.append((target, measured, met))
    values = big_ratios(result, "ours")
    if values:
        median = statistics.median(values)
        rows.append(
            (
                f"{result.big_rows:,} sequences: latency ≤ {BIG_TARGET:.2f} × empty table",
                spread(values),
                median <= BIG_TARGET,
            )
        )
    return rows


def data_statements(count: dict[str, Any]) -> float:
    """Statements per call, without SQLite's PRAGMAs (in process: no I/O, no lock)."""
    kinds: dict[str, int] = count["kinds"]
    return (sum(kinds.values()) - kinds.get("PRAGMA", 0)) / int(count["n"])


def _kinds(count: dict[str, Any]) -> str:
    per_call = count["per_call"]
    n = count["n"]
    kinds = ", ".join(
        f"{kind} × {value / n:g}" if value != n else kind
        for kind, value in sorted(count["kinds"].items(), key=lambda kv: -kv[1])
    )
    return f"{per_call:g} ({kinds})" if kinds else f"{per_call:g}"


def _table(add: Any, header: list[str], rows: list[list[str]]) -> None:
    add("| " + " | ".join(header) + " |")
    add("|" + "---|" * len(header))
    for row in rows:
        add("| " + " | ".join(row) + " |")
    add("")


def _calls_table(result: BackendResult, options: Options, add: Any) -> None:
    main = [impl for impl in ("raw", "django", "ours", "v31") if impl in result.impls]
    calls = block_calls(result.backend, options)
    add(
        f"Calls per second: median of {options.reps} repetitions of {calls} calls each "
        f"(min–max). A repetition runs each implementation's calls in about {SLICES} "
        "slices, the implementations taking turns slice by slice; "
        f"{result.pinning or 'not pinned'}. Ratios are paired: one ratio per repetition, "
        "then their median (min–max). `ours/floor` is the part of the cost that is ours; "
        "`floor/raw` is what Django itself costs over the bare driver."
    )
    add("")
    header = ["case"] + [LABELS[impl] for impl in main] + ["ours/floor", "ours/raw", "floor/raw"]
    if "v31" in main:
        header.append("ours/3.1")
    rows = []
    for label, _ in CASES:
        row = [label] + [spread(per_second(result, label, impl), "{:,.0f}") for impl in main]
        row.append(spread(ratios(result, label, "ours", baseline="django")))
        row.append(spread(ratios(result, label, "ours")))
        row.append(spread(ratios(result, label, "django")))
        if "v31" in main:
            row.append(spread(ratios(result, label, "ours", baseline="v31")))
        rows.append(row)
    _table(add, header, rows)

    def us(value: float | None) -> str:
        return "n/a" if value is None else f"{value:,.0f}"

    add(
        "Client CPU per call, µs: median over the repetitions of the worker process's "
        "`time.process_time()` per call (Python, Django, the driver; not the server). "
        "`ours − floor` is what our own code adds per call."
    )
    add("")
    header = ["case"] + [LABELS[impl] for impl in main] + ["ours − floor"]
    rows = []
    for label, _ in CASES:
        values = {impl: cpu_per_call(result, label, impl) for impl in main}
        ours, floor = values.get("ours"), values.get("django")
        extra = "n/a" if ours is None or floor is None else f"{ours - floor:+,.0f}"
        rows.append([label] + [us(values[impl]) for impl in main] + [extra])
    _table(add, header, rows)


def _psycopg2_table(result: BackendResult, add: Any) -> None:
    if "ours_pg2" not in result.impls:
        return
    versions = result.info.get("ours", {}), result.info.get("ours_pg2", {})
    add(
        f"psycopg2 vs psycopg 3 (psycopg {versions[0].get('psycopg', '?')}; psycopg2 "
        f"{versions[1].get('psycopg2', '?')} in a virtualenv of its own, same Django "
        f"{versions[1].get('django', '?')}; Django uses psycopg 3 whenever it is importable). "
        "Calls per second and client CPU per call (µs), interleaved with the runs above; "
        "`pg2/pg3` is the paired ratio of calls per second."
    )
    add("")
    header = [
        "case",
        "ours, psycopg 3",
        "ours, psycopg2",
        "ours pg2/pg3",
        "floor pg2/pg3",
        "raw pg2/pg3",
        "ours/floor, psycopg2",
        "CPU µs ours pg3 / pg2",
        "CPU µs floor pg3 / pg2",
    ]
    rows = []
    for label, _ in CASES:
        if not result.seconds.get(label, {}).get("ours_pg2"):
            continue
        cpu = {impl: cpu_per_call(result, label, impl) for impl in result.impls}

        def pair(a: str, b: str, cpu: dict[str, float | None] = cpu) -> str:
            x, y = cpu.get(a), cpu.get(b)
            return "n/a" if x is None or y is None else f"{x:,.0f} / {y:,.0f}"

        rows.append(
            [
                label,
                spread(per_second(result, label, "ours"), "{:,.0f}"),
                spread(per_second(result, label, "ours_pg2"), "{:,.0f}"),
                spread(ratios(result, label, "ours_pg2", baseline="ours")),
                spread(ratios(result, label, "django_pg2", baseline="django")),
                spread(ratios(result, label, "raw_pg2", baseline="raw")),
                spread(ratios(result, label, "ours_pg2", baseline="django_pg2")),
                pair("ours", "ours_pg2"),
                pair("django", "django_pg2"),
            ]
        )
    _table(add, header, rows)


def _contention_table(result: BackendResult, options: Options, add: Any) -> None:
    if not result.contention:
        return
    cimpls = [impl for impl in ("raw", "django", "ours", "v31") if impl in result.impls]
    cimpls = [impl for impl in cimpls if any(impl in runs for runs in result.contention.values())]
    add(
        "Contention: worker processes calling in a loop for "
        f"{options.contention_seconds:g} s"
        + (
            ""
            if options.smoke
            else f" ({options.contention_seconds * TOP_RUN_FACTOR:g} s at "
            f"{max(options.concurrency)} processes)"
        )
        + f", median of {options.contention_reps} "
        "interleaved runs (min–max); throughput in calls/s. Every run is checked: values "
        "unique and contiguous. The Django floor sends ours' SQL, as above, from the same "
        "processes (their runs alternate). `client CPU` is "
        "the worker processes' CPU seconds over the run's wall seconds × "
        f"{os.cpu_count()} cores (median; ours' runs, then the floor's); `machine busy` is "
        "the share of the machine's CPU in use during ours' runs (/proc/stat: servers "
        "and any other load included). Near 100%, the CPU is the bound, not the database's locks. "
        "`floor/floor`: the floor run a second time in every round, against itself; how "
        "far apart this method puts two runs of the same code."
    )
    add("")
    header = ["processes", "sequences"] + [f"{LABELS[impl]} calls/s" for impl in cimpls]
    header += ["ours/floor", "floor/floor", "ours/raw"] + (["ours/3.1"] if "v31" in cimpls else [])
    header += ["client CPU ours / floor", "machine busy", "p50 / p99 ms ours"]
    rows = []
    for key, runs in result.contention.items():
        count, mode = key.split("/")
        row = [count, "one" if mode == "shared" else "one each"]
        row += [
            spread([r["throughput"] for r in runs.get(impl, [])], "{:,.0f}") for impl in cimpls
        ]
        row.append(spread(contention_ratios(result, key, "ours", baseline="django")))
        row.append(spread(contention_ratios(result, key, AGAIN, baseline="django")))
        row.append(spread(contention_ratios(result, key, "ours")))
        if "v31" in cimpls:
            row.append(spread(contention_ratios(result, key, "ours", baseline="v31")))
        ours = runs.get("ours", [])
        shares = [
            statistics.median(r["client_cpu"] for r in runs[impl]) * 100
            for impl in ("ours", "django")
            if runs.get(impl)
        ]
        row.append(" / ".join(f"{share:.0f}%" for share in shares) or "n/a")
        row.append(spread([r["machine_busy"] * 100 for r in ours], "{:.0f}%"))
        p50 = statistics.median(r["p50"] for r in ours) * 1000 if ours else float("nan")
        p99 = statistics.median(r["p99"] for r in ours) * 1000 if ours else float("nan")
        row.append(f"{p50:.2f} / {p99:.2f}")
        rows.append(row)
    _table(add, header, rows)


def render(results: list[BackendResult], skipped: list[str], options: Options) -> str:
    lines: list[str] = []
    add = lines.append
    for result in results:
        impls = result.impls
        add(f"### {result.backend} ({result.version})\n")
        _calls_table(result, options, add)
        _psycopg2_table(result, add)
        add(
            f"Latency with {result.big_rows:,} other sequences in the table over latency "
            "with none (steady state, paired per repetition): "
            + ", ".join(
                f"{LABELS[impl]} {spread(big_ratios(result, impl))}"
                for impl in ["raw", "django", "ours"]
            )
            + "."
        )
        add("")
        add(
            "Statements per call, counted by the server or on the wire "
            + _counting_method(result.backend)
            + ": in its own transaction / inside the caller's transaction."
        )
        add("")
        counted = [impl for impl in impls if impl not in PSYCOPG2_IMPLS]
        rows = []
        for label, _ in CASES:
            row = [label]
            for impl in counted:
                counts = result.statements.get(label, {}).get(impl)
                row.append(
                    "n/a"
                    if not counts
                    else f"{_kinds(counts['own'])} / {_kinds(counts['inside'])}"
                )
            rows.append(row)
        _table(add, ["case"] + [LABELS[impl] for impl in counted], rows)
        _contention_table(result, options, add)
        add(
            "Targets (issue 16): ours/Django floor ≥ 0.97 on the steady state, ≥ 0.95 on "
            "`nowait`, `timeout`, `reset_value` and batches; not behind django-sequences 3.1 "
            f"on any path (median paired ratio ≥ {V31_TARGET:.2f}; on PostgreSQL's steady "
            "state, client CPU per call too); 16 processes ≥ "
            f"{CONTENTION_TARGET:.2f} × the Django floor. Measured: median (min–max) of the "
            "paired ratios. The old targets against the raw driver (0.90, SQLite 0.60) are "
            "retired: the Django floor itself does not reach them.\n"
        )
        footnote = False
        rows = []
        for target, measured, met in targets(result):
            footnote = footnote or "¹" in measured
            rows.append([target, measured, "yes" if met else "**no**"])
        _table(add, ["target", "measured", "met"], rows)
        if footnote:
            add(
                "¹ One upsert, plus `PRAGMA busy_timeout` statements that SQLite runs in "
                "process, with no I/O and no lock. The Django floor does not replay them: "
                "their cost counts as ours."
            )
            add("")
        if result.problems:
            add("Correctness problems:\n")
            lines.extend(f"- {problem}" for problem in result.problems)
            add("")
        if result.findings:
            add(
                "django-sequences 3.1 under contention (the run goes on; its values are checked "
                "all the same):\n"
            )
            lines.extend(f"- {finding}" for finding in result.findings)
            add("")
    for note in options.notes:
        add(f"Note: {note}\n")
    if skipped:
        add("Skipped: " + "; ".join(skipped) + "\n")
    return "\n".join(lines)


def _counting_method(backend: str) -> str:
    return {
        "postgresql": "(libpq protocol trace: `Query` and `Execute` messages sent)",
        "mariadb": "(server session counters `Questions` and `Com_*`)",
        "sqlite": "(SQLite's own trace callback: every statement it runs)",
    }[backend]


def machine(results: list[BackendResult]) -> list[str]:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        memory = int(Path("/proc/meminfo").read_text().split()[1]) // 1024 // 1024
        ram = f"{memory} GiB RAM"
    except (OSError, ValueError, IndexError):
        ram = "RAM unknown"
    lines = [
        f"- Machine: {os.cpu_count()} cores ({cpu}), {ram}, {platform.system()} "
        f"{platform.release()}",
        "- Servers: " + ", ".join(result.version for result in results),
    ]
    groups: dict[str, list[str]] = {}
    for result in results:
        for impl, info in result.info.items():
            versions = dict(info)
            versions.pop("sequences", None)
            if "psycopg" in versions and "psycopg2" in versions:
                # Django takes psycopg 3 whenever it is importable.
                versions["psycopg2"] += " (installed, unused)"
            python = versions.pop("python", "?")
            names = {"django": "Django"}
            described = ", ".join(
                [f"Python {python}"] + [f"{names.get(k, k)} {v}" for k, v in versions.items()]
            )
            labels = groups.setdefault(described, [])
            if LABELS[impl] not in labels:
                labels.append(LABELS[impl])
    lines += [f"- {'; '.join(labels)}: {described}" for described, labels in groups.items()]
    return lines


def _probe(python: str, code: str) -> str:
    # Not from the project's directory, whose own metadata would answer instead.
    done = subprocess.run(
        [python, "-c", code], capture_output=True, text=True, check=False,
        cwd=tempfile.gettempdir(),
    )  # fmt: skip
    return done.stdout.strip() if done.returncode == 0 else ""


def _worker_driver_missing(worker_python: str, backend: str) -> str | None:
    """Why the workers' python cannot reach ``backend``, or ``None``."""
    if worker_python == sys.executable:
        return None  # databases.reachable() has just imported the driver here
    module = {"postgresql": "psycopg", "mariadb": "MySQLdb", "sqlite": "sqlite3"}[backend]
    if _probe(worker_python, f"import {module}; print('ok')") == "ok":
        return None
    return f"driver not installed for {worker_python} ({module})"


def _base_and_versions(worker_python: str) -> tuple[str, list[str]]:
    """The interpreter the workers' virtualenv was made from; its Django and Python versions."""
    found = _probe(worker_python, "import sys; print(sys._base_executable); " + _VERSIONS)
    lines = found.splitlines()
    if len(lines) != 3:
        raise RuntimeError(f"{worker_python} cannot import Django")
    return lines[0], lines[1:]


_VERSIONS = (
    "import django, platform; print(django.get_version()); print(platform.python_version())"
)


def ensure_venv(
    what: str, path: str | None, worker_python: str, requirements: list[str], probe: str,
    expected: str, log: Any,
) -> str:  # fmt: skip
    """The python of a virtualenv with ``requirements`` and the workers' Python and Django.

    Made from the interpreter of the workers' virtualenv (emptied first if it
    holds anything else); reused when ``probe`` prints ``expected`` there and
    the versions match.
    """
    base, versions = _base_and_versions(worker_python)
    django_version = versions[0]
    slug = "".join(c if c.isalnum() else "_" for c in what)
    venv = Path(path) if path else Path(tempfile.mkdtemp(prefix=f"seq_bench_{slug}_"))
    python = venv / "bin" / "python"
    check = f"{probe}; {_VERSIONS}"
    if python.exists() and _probe(str(python), check).split() == [expected, *versions]:
        return str(python)
    log(f"Installing {what} with Django {django_version} into a throwaway virtualenv: {venv}")
    subprocess.run([base, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", *requirements, f"Django=={django_version}"],
        check=True,
    )
    found = _probe(str(python), check).split()
    if found != [expected, *versions]:
        raise RuntimeError(
            f"expected {what}, Django and Python {versions} in {venv}, found {found}"
        )
    return str(python)


def ensure_v31(path: str | None, worker_python: str, log: Any) -> str:
    """The python of a virtualenv with django-sequences 3.1 (created if missing)."""
    probe = "import importlib.metadata as m; print(m.version('django-sequences'))"
    return ensure_venv("django-sequences 3.1", path, worker_python, V31_REQUIREMENTS, probe,
                       "3.1", log)  # fmt: skip


def ensure_psycopg2(path: str | None, worker_python: str, log: Any) -> str:
    """The python of a virtualenv with psycopg2 and without psycopg 3 (created if missing).

    This project is not installed there: the worker puts it on ``sys.path``.
    """
    probe = (
        "import importlib.util as u, psycopg2; "
        "print('psycopg2-only' if u.find_spec('psycopg') is None else 'psycopg-too')"
    )
    return ensure_venv("psycopg2", path, worker_python, PSYCOPG2_REQUIREMENTS, probe,
                       "psycopg2-only", log)  # fmt: skip


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="few calls, correctness only")
    parser.add_argument("--backends", default=os.environ.get("SEQUENCES_BACKENDS", ""))
    parser.add_argument("--require-all", action="store_true")
    parser.add_argument(
        "--worker-python",
        default=sys.executable,
        help="the python of the ours, Django floor and raw workers (default: this one); "
        "the 3.1 and psycopg2 virtualenvs get its Python and Django versions",
    )
    parser.add_argument(
        "--v31",
        choices=("auto", "yes", "no"),
        default="auto",
        help="compare with django-sequences 3.1 (auto: not in smoke mode; "
        "skipped with a note if it does not install)",
    )
    parser.add_argument(
        "--v31-venv",
        default=os.environ.get("SEQUENCES_BENCH_V31_VENV"),
        help="reuse (or create) this virtualenv for 3.1; default: a temporary one",
    )
    parser.add_argument(
        "--psycopg2",
        choices=("auto", "yes", "no"),
        default="auto",
        help="also run ours, the Django floor and the raw driver on psycopg2 "
        "(PostgreSQL; auto: not in smoke mode)",
    )
    parser.add_argument(
        "--psycopg2-venv",
        default=os.environ.get("SEQUENCES_BENCH_PSYCOPG2_VENV"),
        help="reuse (or create) this virtualenv for psycopg2; default: a temporary one",
    )
    parser.add_argument("--reps", type=int, help="repetitions of each case (default 12)")
    parser.add_argument(
        "--calls", type=int, help="calls per repetition (default 200; twice that on SQLite)"
    )
    parser.add_argument("--big-rows", type=int, default=1_000_000)
    parser.add_argument(
        "--concurrency", help="contention: process counts, comma-separated (default 1,16)"
    )
    parser.add_argument(
        "--contention-reps", type=int, help="runs per contention point (default 4)"
    )
    parser.add_argument(
        "--contention-seconds", type=float, help="length of a contention run (default 0.5)"
    )
    parser.add_argument(
        "--output", help="markdown file (default: benchmarks/RESULTS.md, none in smoke mode)"
    )
    parser.add_argument("--json", help="also write the raw results here")
    return parser.parse_args(argv)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Absolute (the workers run from the temporary directory), symlinks kept:
    # a virtualenv's python is one.
    args.worker_python = os.path.abspath(args.worker_python)
    env = [
        f"{name}={shlex.quote(os.environ[name])}"
        for name in (
            "SEQUENCES_BENCH_V31_VENV",
            "SEQUENCES_BENCH_PSYCOPG2_VENV",
            "SEQUENCES_BENCH_DB_PREFIX",
        )
        if os.environ.get(name)
    ]
    command = " ".join(
        [*env, "python -m benchmarks", shlex.join(sys.argv[1:] if argv is None else argv)]
    ).strip()
    started = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.0f} s] {message.lstrip()}", flush=True)

    backends = args.backends.split() or list(BACKENDS)
    notes: list[str] = []
    temporary: list[str] = []
    v31_python = psycopg2_python = None
    if args.v31 == "yes" or (args.v31 == "auto" and not args.smoke):
        try:
            v31_python = ensure_v31(args.v31_venv, args.worker_python, log)
        except (subprocess.CalledProcessError, RuntimeError) as exc:
            if args.v31 == "yes":
                raise
            notes.append(
                f"django-sequences 3.1 did not install beside this Django ({exc}): "
                "no comparison with 3.1 in this run."
            )
            log(notes[-1])
        if v31_python and not args.v31_venv:
            temporary.append(v31_python)
    if "postgresql" in backends and (
        args.psycopg2 == "yes" or (args.psycopg2 == "auto" and not args.smoke)
    ):
        try:
            psycopg2_python = ensure_psycopg2(args.psycopg2_venv, args.worker_python, log)
        except (subprocess.CalledProcessError, RuntimeError) as exc:
            if args.psycopg2 == "yes":
                raise
            notes.append(f"psycopg2 did not install ({exc}): no psycopg2 comparison in this run.")
            log(notes[-1])
        if psycopg2_python and not args.psycopg2_venv:
            temporary.append(psycopg2_python)
    options = Options(
        smoke=args.smoke,
        reps=args.reps or (1 if args.smoke else 12),
        calls=args.calls or (100 if args.smoke else 200),
        big_rows=args.big_rows if not args.smoke else min(args.big_rows, 10_000),
        concurrency=tuple(int(k) for k in args.concurrency.split(","))
        if args.concurrency
        else (1, 16),
        contention_reps=args.contention_reps or (1 if args.smoke else 4),
        contention_seconds=args.contention_seconds or (60.0 if args.smoke else 0.5),
        contention_calls=10 if args.smoke else 10**9,
        count_calls=20,
        v31_python=v31_python,
        psycopg2_python=psycopg2_python,
        worker_python=args.worker_python,
        notes=notes,
    )
    results: list[BackendResult] = []
    skipped: list[str] = []
    failed: list[str] = []
    try:
        for backend in backends:
            reason = databases.reachable(backend) or _worker_driver_missing(
                options.worker_python, backend
            )
            if reason:
                skipped.append(f"{backend}: {reason}")
                log(f"\n=== {backend}: SKIPPED, {reason}")
                continue
            try:
                results.append(run_backend(backend, options, log))
            except Exception as exc:  # report the other backends all the same
                failed.append(f"{backend}: {type(exc).__name__}: {exc}")
                log(f"=== {backend}: FAILED, {exc}")
    finally:
        import shutil

        for python in temporary:
            shutil.rmtree(Path(python).parent.parent, ignore_errors=True)

    elapsed = time.perf_counter() - started
    report = render(results, skipped, options)
    print("\n" + report)
    print("Backends run: " + (", ".join(r.backend for r in results) or "none"))
    print(f"Total time: {elapsed / 60:.1f} minutes")
    for line in skipped:
        print(f"SKIPPED {line}")
    problems = [f"{r.backend}: {p}" for r in results for p in r.problems] + failed
    for result in results:
        for label, per_impl in result.statements.items():
            inside = per_impl["ours"]["inside"]
            if data_statements(inside) != 1:
                problems.append(
                    f"{result.backend}: {label}: ours sends {_kinds(inside)} statements "
                    "per call inside the caller's transaction, not 1"
                )
    output = args.output or (None if args.smoke else str(HERE / "RESULTS.md"))
    if output:
        write_results(Path(output), results, options, command, report, elapsed)
        print(f"Wrote {output}")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"results": [r.__dict__ for r in results], "skipped": skipped,
             "problems": problems, "notes": notes, "seconds": elapsed}, indent=1))  # fmt: skip
    for problem in problems:
        print(f"PROBLEM {problem}")
    if skipped and args.require_all:
        print("Every backend is required (--require-all): failing.")
        return 1
    return 1 if problems or not results else 0


def write_results(
    path: Path,
    results: list[BackendResult],
    options: Options,
    command: str,
    report: str,
    elapsed: float,
) -> None:
    impls = sorted({i for r in results for i in r.impls}, key=IMPLS.index)
    text = [
        "# Benchmark results",
        "",
        "Generated by the benchmark harness (`benchmarks/harness.py`): do not edit by hand.",
        "",
        f"Latest run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, total time {elapsed / 60:.1f} "
        "minutes; load average (1, 5, 15 min) at the end: "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}.",
        f"Command: `{command}`.",
        "",
        *machine(results),
        "- Implementations, interleaved: " + ", ".join(LABELS[i] for i in impls),
        "",
        "What each implementation does, once per call:",
        "",
        "- **ours**: `get_next_value()` (or `get_next_values()`) inside its own "
        "`transaction.atomic()`.",
        "- **Django floor**: the same SQL with the same parameters as ours, captured from "
        "one call of ours with `connection.execute_wrapper()` when the worker starts, sent "
        "through Django's `connection.cursor()` inside `transaction.atomic()` with no "
        "`sequences` code. What any Django code pays for that statement; `ours/floor` is "
        "the part that is ours (argument checks, dispatch, building the statement). "
        "What ours sends outside Django's cursor, and SQLite's `PRAGMA busy_timeout`, "
        "is not replayed: that cost is ours. It runs in ours' worker process, on the "
        "same connection: the ratio then holds ours' code and no difference between "
        "two processes.",
        "- **How it is measured**: one client at a time. Each repetition runs every "
        f"implementation's calls in about {SLICES} slices, the implementations taking turns "
        "slice by slice, so that the machine's slow moments fall on all of them alike; the "
        "worker processes and their server sessions run on one CPU, so that the scheduler "
        "does not move them between CPUs (which cost some processes more than others).",
        "- **raw driver**: no Django: `BEGIN`, the shortest upsert that does the work "
        "(fewer parameters, no overflow check), `COMMIT`. Ratios to it show what Django "
        "costs; they are no longer targets.",
        '- **SQLite** runs in WAL mode with `"OPTIONS": {"transaction_mode": '
        '"IMMEDIATE"}`, as the system check `sequences.W101` recommends: every '
        "implementation's transaction begins with `BEGIN IMMEDIATE` (the raw driver's too), "
        "so a draw inside it never waits and `nowait`/`timeout` need no `PRAGMA`. With "
        "deferred transactions they cost three (see `docs/performance.md`).",
        "- **django-sequences 3.1**: the published library, in a virtualenv of its own with "
        "the same Django; it has no `timeout`.",
        "- **psycopg2** (PostgreSQL): ours, the floor and the raw driver again, in a "
        "virtualenv with psycopg2 and no psycopg 3.",
        "",
        "Higher is better in every ratio of calls per second; 1.00 means as fast.",
        "",
        report,
    ]
    path.write_text("\n".join(text) + "\n")
