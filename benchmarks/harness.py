"""The benchmark harness: ours against the raw driver (and django-sequences 3.1).

``python -m benchmarks`` (``make bench``) times every case on every reachable
backend and writes ``benchmarks/RESULTS.md``; ``--smoke`` (``make
bench-smoke``, and ``tests/test_benchmarks.py``) runs every case a few hundred
times and checks only correctness: values unique and contiguous, one statement
per call inside the caller's transaction.

Each implementation runs in its own worker process (``benchmarks/worker.py``)
and the harness asks them in turn, A B C A B C ..., starting each repetition
with the next one, so that they share the machine's noise.
"""

from __future__ import annotations

import argparse
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
IMPLS = ("raw", "django", "ours", "v31")
LABELS = {
    "raw": "raw driver",
    "django": "Django floor",
    "ours": "ours",
    "v31": "django-sequences 3.1",
}
V31_REQUIREMENTS = [
    "django-sequences==3.1",
    "Django>=5.2,<6",
    "psycopg[binary]>=3.1",
    "mysqlclient>=2.2",
]

Case = dict[str, Any]


def case(kind: str, name: str, batch: int = 1, alias: str = "default") -> Case:
    return {"kind": kind, "name": name, "batch": batch, "alias": alias}


#: (label, case); ``big`` is the same steady-state call on a table that holds
#: 1,000,000 other sequences.
CASES: list[tuple[str, Case]] = [
    ("steady state", case("plain", "steady")),
    ("first call", case("first", "first")),
    ("nowait=True", case("nowait", "nowait")),
    ("reset_value", case("reset", "reset")),
    ("batch of 1", case("batch", "batch1", 1)),
    ("batch of 10", case("batch", "batch10", 10)),
    ("batch of 100", case("batch", "batch100", 100)),
    ("batch of 1000", case("batch", "batch1000", 1000)),
    ("steady, 1M other sequences", case("plain", "steady", alias="big")),
]
#: The cases whose ratio to the raw driver has a target.
TARGET_CASES = ("steady state", "first call", "nowait=True", "reset_value")
BIG = "steady, 1M other sequences"
RATIO_TARGETS = {"postgresql": 0.90, "mariadb": 0.90, "sqlite": 0.60}
CONTENTION_TARGET = 0.90
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


class WorkerProcess:
    """One ``benchmarks/worker.py`` process and its line protocol."""

    def __init__(self, impl: str, backend: str, python: str) -> None:
        env = dict(os.environ, SEQUENCES_TEST_BACKEND=backend, PYTHONDONTWRITEBYTECODE="1")
        env.pop("DJANGO_SETTINGS_MODULE", None)
        env.pop("PYTHONPATH", None)
        self.impl = impl
        self.process = subprocess.Popen(
            [python, str(WORKER), impl],
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
        if self.process.poll() is None:
            try:
                self.send({"op": "exit"})
                self.process.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()


def start_workers(impl: str, backend: str, python: str, count: int) -> list[WorkerProcess]:
    workers = [WorkerProcess(impl, backend, python) for _ in range(count)]
    for worker in workers:
        worker.receive()  # the "ready" line: Django is set up
    return workers


@dataclass
class BackendResult:
    backend: str
    version: str
    impls: list[str]
    #: label -> impl -> [seconds per block]
    seconds: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    #: label -> impl -> [client CPU seconds per block]
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


def rotated(items: list[str], by: int) -> list[str]:
    by %= len(items)
    return items[by:] + items[:by]


def applicable(impl: str, label: str) -> bool:
    # django-sequences 3.1 ignores ``using`` on its ORM path (SQLite, nowait,
    # reset_value): it would not touch the 1M-row database at all.
    return not (impl == "v31" and label == BIG)


def check_block(label: str, kase: Case, n: int, result: dict[str, Any]) -> str | None:
    first, last = result["first"], result["last"]
    if kase["kind"] == "first":
        ok = first == last == kase["batch"]
    elif kase["kind"] == "reset":
        ok = 1 <= first < 1000 and 1 <= last < 1000
    else:
        ok = last - first == (n - 1) * kase["batch"]
    if ok:
        return None
    return f"{label}: values not contiguous ({n} calls, first {first}, last {last})"


def run_backend(backend: str, options: Options, log: Any) -> BackendResult:
    started = time.perf_counter()
    impls = ["raw"] + ([] if options.smoke else ["django"]) + ["ours"]
    impls += ["v31"] if options.v31_python else []
    result = BackendResult(backend, databases.server_version(backend), impls)
    pythons = dict.fromkeys(("raw", "django", "ours"), sys.executable)
    pythons["v31"] = options.v31_python or ""
    log(f"\n=== {backend} ({result.version}): {', '.join(LABELS[i] for i in impls)}")
    databases.create_databases(backend)
    workers: dict[str, WorkerProcess] = {}
    try:
        workers = {impl: start_workers(impl, backend, pythons[impl], 1)[0] for impl in impls}
        workers["ours"].ask({"op": "migrate"})
        log(f"  filling the big table with {options.big_rows:,} sequences (raw driver)")
        databases.fill(backend, "big", options.big_rows)
        result.big_rows = databases.count_rows(backend, "big")
        for worker in workers.values():
            worker.ask({"op": "connect", "alias": "default"})
            worker.ask({"op": "connect", "alias": "big"})
        _micro(result, workers, options, log)
        _count(result, workers, options, log)
    finally:
        for worker in workers.values():
            worker.stop()
    try:
        _contention(result, pythons, options, log)
    finally:
        databases.drop_databases(backend)
    result.seconds_total = time.perf_counter() - started
    return result


def _micro(
    result: BackendResult, workers: dict[str, WorkerProcess], options: Options, log: Any
) -> None:
    log(f"  cases: {options.reps} repetitions of {options.calls} calls per implementation")
    for label, kase in CASES:
        for impl in result.impls:
            if applicable(impl, label):  # warm-up: prepared statements, caches
                workers[impl].ask({"op": "run", "case": kase, "n": min(20, options.calls)})
    for rep in range(options.reps):
        for label, kase in CASES:
            impls = [impl for impl in rotated(result.impls, rep) if applicable(impl, label)]
            for impl in impls:
                reply = workers[impl].ask({"op": "run", "case": kase, "n": options.calls})
                problem = check_block(f"{impl} {label}", kase, options.calls, reply)
                if problem:
                    result.problems.append(problem)
                result.seconds.setdefault(label, {}).setdefault(impl, []).append(reply["seconds"])
                result.cpu.setdefault(label, {}).setdefault(impl, []).append(reply["cpu"])
                result.calls[label] = options.calls
        log(f"  repetition {rep + 1}/{options.reps} done")


def _count(
    result: BackendResult, workers: dict[str, WorkerProcess], options: Options, log: Any
) -> None:
    log("  counting statements per call (server counters / wire trace)")
    for label, kase in CASES:
        for impl in result.impls:
            if not applicable(impl, label):
                continue
            n = max(1, options.count_calls // max(1, kase["batch"] // 100))
            counts = {
                mode: workers[impl].ask(
                    {"op": "count", "case": kase, "n": n, "inside": mode == "inside"}
                )
                for mode in ("own", "inside")
            }
            result.statements.setdefault(label, {})[impl] = counts


def _contention(
    result: BackendResult, pythons: dict[str, str], options: Options, log: Any
) -> None:
    top = max(options.concurrency)
    # The Django floor sits out contention: it would add a quarter to the run.
    contenders = [impl for impl in result.impls if impl != "django"]
    log(f"  contention: {', '.join(map(str, options.concurrency))} processes")
    pools: dict[str, list[WorkerProcess]] = {}
    try:
        for impl in contenders:
            pools[impl] = start_workers(impl, result.backend, pythons[impl], top)
        for workers_count in options.concurrency:
            for mode in ("shared", "own"):
                key = f"{workers_count}/{mode}"
                for rep in range(options.contention_reps):
                    for impl in rotated(contenders, rep):
                        summary = _contend(impl, pools[impl][:workers_count], mode, options)
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
        for pool in pools.values():
            for worker in pool:
                worker.stop()


def _contend(
    impl: str, workers: list[WorkerProcess], mode: str, options: Options
) -> dict[str, Any]:
    for index, worker in enumerate(workers):
        name = f"contend-{impl}" if mode == "shared" else f"contend-{impl}-{index}"
        worker.send(
            {
                "op": "contend",
                "case": case("plain", name),
                "seconds": options.contention_seconds,
                "max_calls": options.contention_calls,
            }
        )
    for worker in workers:
        worker.receive()
    at = time.time() + 0.05
    for worker in workers:
        worker.send({"op": "go", "at": at})
    replies = [worker.receive() for worker in workers]
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
    return {
        "calls": calls,
        "throughput": calls / seconds if seconds else 0.0,
        "p50": _quantile(latencies, 0.50),
        "p99": _quantile(latencies, 0.99),
        "problem": problem,
    }


def _quantile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


# Summaries.


def ratios(result: BackendResult, label: str, impl: str, baseline: str = "raw") -> list[float]:
    """Per repetition: calls/s of ``impl`` over calls/s of ``baseline`` (paired, same rep)."""
    ours = result.seconds.get(label, {}).get(impl, [])
    base = result.seconds.get(label, {}).get(baseline, [])
    return [b / a for a, b in zip(ours, base, strict=False) if a]


def big_ratios(result: BackendResult, impl: str) -> list[float]:
    """Per repetition: latency on the 1M-row table over latency on the empty one."""
    big = result.seconds.get(BIG, {}).get(impl, [])
    empty = result.seconds.get("steady state", {}).get(impl, [])
    return [b / e for b, e in zip(big, empty, strict=False) if e]


def contention_ratios(result: BackendResult, key: str, impl: str) -> list[float]:
    runs = result.contention.get(key, {})
    return [
        a["throughput"] / b["throughput"]
        for a, b in zip(runs.get(impl, []), runs.get("raw", []), strict=False)
        if b["throughput"]
    ]


def spread(values: list[float], fmt: str = "{:.2f}") -> str:
    if not values:
        return "n/a"
    median = fmt.format(statistics.median(values))
    return f"{median} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def targets(result: BackendResult) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for one backend."""
    rows: list[tuple[str, str, bool]] = []
    floor = RATIO_TARGETS[result.backend]
    for label in TARGET_CASES:
        values = ratios(result, label, "ours")
        if values:
            median = statistics.median(values)
            rows.append((f"{label}: ours/raw ≥ {floor:.2f}", f"{median:.2f}", median >= floor))
    for label, per_impl in result.statements.items():
        inside = per_impl.get("ours", {}).get("inside")
        if inside:
            pragmas = inside["kinds"].get("PRAGMA", 0)
            rows.append(
                (
                    f"{label}: 1 statement per call inside the caller's transaction",
                    _kinds(inside) + (" ¹" if pragmas else ""),
                    inside["per_call"] == 1,
                )
            )
    key = f"{max(int(k.split('/')[0]) for k in result.contention)}" if result.contention else ""
    for mode in ("shared", "own"):
        values = contention_ratios(result, f"{key}/{mode}", "ours")
        if values:
            median = statistics.median(values)
            rows.append(
                (
                    f"{key} processes, {MODES[mode]}: ours/raw ≥ {CONTENTION_TARGET:.2f}",
                    f"{median:.2f}",
                    median >= CONTENTION_TARGET,
                )
            )
    values = big_ratios(result, "ours")
    if values:
        median = statistics.median(values)
        rows.append(
            (
                f"{result.big_rows:,} sequences: latency ≤ {BIG_TARGET:.2f} × empty table",
                f"{median:.2f}",
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


def render(results: list[BackendResult], skipped: list[str], options: Options) -> str:
    lines: list[str] = []
    add = lines.append
    for result in results:
        impls = result.impls
        others = [impl for impl in impls if impl != "raw"]
        add(f"### {result.backend} ({result.version})\n")
        add(
            f"Calls per second: median of {options.reps} interleaved repetitions of "
            f"{options.calls} calls (min–max); ratios are paired per repetition."
        )
        add("")
        header = ["case", LABELS["raw"]]
        for impl in others:
            header += [LABELS[impl], f"{impl}/raw"]
            if impl == "ours":
                header.append("ours/Django floor")
        add("| " + " | ".join(header) + " |")
        add("|" + "---|" * len(header))
        for label, _ in CASES:
            per_impl = result.seconds.get(label, {})
            n = result.calls.get(label, 0)
            row = [label, spread([n / s for s in per_impl.get("raw", [])], "{:,.0f}")]
            for impl in others:
                row.append(spread([n / s for s in per_impl.get(impl, [])], "{:,.0f}"))
                row.append(spread(ratios(result, label, impl)))
                if impl == "ours":
                    row.append(spread(ratios(result, label, "ours", baseline="django")))
            add("| " + " | ".join(row) + " |")
        add("")
        add(
            "Client CPU per call, µs (median; the harness's worker processes, "
            "`time.process_time`): where the overhead is spent."
        )
        add("")
        header = ["case"] + [LABELS[impl] for impl in impls]
        add("| " + " | ".join(header) + " |")
        add("|" + "---|" * len(header))
        for label, _ in CASES:
            n = result.calls.get(label, 0)
            row = [label]
            for impl in impls:
                blocks = result.cpu.get(label, {}).get(impl, [])
                row.append(f"{statistics.median(blocks) / n * 1e6:,.0f}" if blocks else "n/a")
            add("| " + " | ".join(row) + " |")
        add("")
        add(
            f"Latency with {result.big_rows:,} other sequences in the table over latency "
            "with none (steady state, paired per repetition): "
            + ", ".join(
                f"{LABELS[impl]} {spread(big_ratios(result, impl))}" for impl in ["raw", "ours"]
            )
            + "."
        )
        add("")
        add(
            "Statements per call, counted by the server or on the wire "
            + _counting_method(result.backend)
            + ": in its own transaction / inside the "
            "caller's transaction."
        )
        add("")
        header = ["case"] + [LABELS[impl] for impl in impls]
        add("| " + " | ".join(header) + " |")
        add("|" + "---|" * len(header))
        for label, _ in CASES:
            row = [label]
            for impl in impls:
                counts = result.statements.get(label, {}).get(impl)
                row.append(
                    "n/a"
                    if not counts
                    else f"{_kinds(counts['own'])} / {_kinds(counts['inside'])}"
                )
            add("| " + " | ".join(row) + " |")
        add("")
        add(
            "Contention: worker processes calling in a loop for "
            f"{options.contention_seconds:g} s, median of {options.contention_reps} "
            "interleaved runs; throughput in calls/s, latency in ms. Every run checked: "
            "values unique and contiguous."
        )
        add("")
        cimpls = [impl for impl in impls if impl != "django"]
        cothers = [impl for impl in cimpls if impl != "raw"]
        header = ["processes", "sequences", f"{LABELS['raw']} calls/s"]
        for impl in cothers:
            header += [f"{LABELS[impl]} calls/s", f"{impl}/raw"]
        header += [f"p50 / p99 {impl}" for impl in cimpls]
        add("| " + " | ".join(header) + " |")
        add("|" + "---|" * len(header))
        for key, runs in result.contention.items():
            count, mode = key.split("/")
            row = [count, "one" if mode == "shared" else "one each"]
            row.append(spread([r["throughput"] for r in runs.get("raw", [])], "{:,.0f}"))
            for impl in cothers:
                row.append(spread([r["throughput"] for r in runs.get(impl, [])], "{:,.0f}"))
                row.append(spread(contention_ratios(result, key, impl)))
            for impl in cimpls:
                p50 = statistics.median(r["p50"] for r in runs.get(impl, [])) * 1000
                p99 = statistics.median(r["p99"] for r in runs.get(impl, [])) * 1000
                row.append(f"{p50:.2f} / {p99:.2f}")
            add("| " + " | ".join(row) + " |")
        add("")
        add("Targets:\n")
        add("| target | measured | met |")
        add("|---|---|---|")
        footnote = False
        for target, measured, met in targets(result):
            footnote = footnote or "¹" in measured
            add(f"| {target} | {measured} | {'yes' if met else '**no**'} |")
        add("")
        if footnote:
            add(
                "¹ One upsert, plus three `PRAGMA busy_timeout` (read, set to 0, restore) "
                "that SQLite runs in process, with no I/O and no lock: Python's `sqlite3` "
                "offers no other way to change the busy timeout for one statement."
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
    versions = [f"Python {platform.python_version()}"]
    for dist in ("Django", "psycopg", "mysqlclient"):
        try:
            from importlib.metadata import version

            versions.append(f"{dist} {version(dist)}")
        except Exception:
            pass
    versions += [result.version for result in results]
    return [
        f"- Machine: {os.cpu_count()} cores ({cpu}), {ram}, {platform.system()} "
        f"{platform.release()}",
        f"- Software: {', '.join(versions)}",
    ]


def ensure_v31(path: str | None, log: Any) -> str:
    """The python of a virtualenv with django-sequences 3.1 (created if missing)."""
    venv = Path(path) if path else Path(tempfile.mkdtemp(prefix="seq_bench_v31_"))
    python = venv / "bin" / "python"
    probe = [
        str(python),
        "-c",
        "import importlib.metadata as m; print(m.version('django-sequences'))",
    ]
    # Not from the project's directory, whose own metadata would answer instead.
    where = tempfile.gettempdir()
    if python.exists():
        found = subprocess.run(
            probe, capture_output=True, text=True, check=False, cwd=where
        ).stdout.strip()
        if found == "3.1":
            return str(python)
    log(f"Installing django-sequences 3.1 into a throwaway virtualenv: {venv}")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *V31_REQUIREMENTS], check=True)
    found = subprocess.run(
        probe, capture_output=True, text=True, check=True, cwd=where
    ).stdout.strip()
    if found != "3.1":
        raise RuntimeError(f"expected django-sequences 3.1 in {venv}, found {found}")
    return str(python)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="few calls, correctness only")
    parser.add_argument("--backends", default=os.environ.get("SEQUENCES_BACKENDS", ""))
    parser.add_argument("--require-all", action="store_true")
    parser.add_argument(
        "--v31",
        choices=("auto", "yes", "no"),
        default="auto",
        help="compare with django-sequences 3.1 (auto: not in smoke mode)",
    )
    parser.add_argument(
        "--v31-venv",
        default=os.environ.get("SEQUENCES_BENCH_V31_VENV"),
        help="reuse (or create) this virtualenv for 3.1; default: a temporary one",
    )
    parser.add_argument("--reps", type=int)
    parser.add_argument("--calls", type=int)
    parser.add_argument("--big-rows", type=int, default=1_000_000)
    parser.add_argument(
        "--output", help="markdown file (default: benchmarks/RESULTS.md, none in smoke mode)"
    )
    parser.add_argument("--json", help="also write the raw results here")
    return parser.parse_args(argv)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    env = [
        f"{name}={shlex.quote(os.environ[name])}"
        for name in ("SEQUENCES_BENCH_V31_VENV", "SEQUENCES_BENCH_DB_PREFIX")
        if os.environ.get(name)
    ]
    command = " ".join(
        [*env, "python -m benchmarks", shlex.join(sys.argv[1:] if argv is None else argv)]
    ).strip()
    started = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.0f} s] {message.lstrip()}", flush=True)

    backends = args.backends.split() or list(BACKENDS)
    use_v31 = args.v31 == "yes" or (args.v31 == "auto" and not args.smoke)
    temporary_v31 = use_v31 and not args.v31_venv
    v31_python = ensure_v31(args.v31_venv, log) if use_v31 else None
    options = Options(
        smoke=args.smoke,
        reps=args.reps or (1 if args.smoke else 5),
        calls=args.calls or 100,
        big_rows=args.big_rows if not args.smoke else min(args.big_rows, 10_000),
        concurrency=(1, 4, 16) if args.smoke else (1, 2, 4, 8, 16),
        contention_reps=1 if args.smoke else 3,
        contention_seconds=60.0 if args.smoke else 0.75,
        contention_calls=10 if args.smoke else 10**9,
        count_calls=20,
        v31_python=v31_python,
    )
    results: list[BackendResult] = []
    skipped: list[str] = []
    failed: list[str] = []
    try:
        for backend in backends:
            reason = databases.reachable(backend)
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
        if temporary_v31 and v31_python:
            import shutil

            shutil.rmtree(Path(v31_python).parent.parent, ignore_errors=True)

    report = render(results, skipped, options)
    print("\n" + report)
    print("Backends run: " + (", ".join(r.backend for r in results) or "none"))
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
        write_results(Path(output), results, skipped, options, command, report)
        print(f"Wrote {output}")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"results": [r.__dict__ for r in results], "skipped": skipped,
             "problems": problems}, indent=1))  # fmt: skip
    for problem in problems:
        print(f"PROBLEM {problem}")
    if skipped and args.require_all:
        print("Every backend is required (--require-all): failing.")
        return 1
    return 1 if problems or not results else 0


def write_results(
    path: Path,
    results: list[BackendResult],
    skipped: list[str],
    options: Options,
    command: str,
    report: str,
) -> None:
    minutes = sum(r.seconds_total for r in results) / 60
    text = [
        "# Benchmark results",
        "",
        f"Latest run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {minutes:.1f} minutes; load "
        f"average (1, 5, 15 min) at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}.",
        f"Command: `{command}` (what `make bench` runs).",
        "",
        *machine(results),
        "- Implementations, interleaved: "
        + (", ".join(LABELS[i] for i in results[0].impls) if results else ""),
        "",
        "Ratios are our calls per second over the raw driver's (higher is better; 1.00 "
        "means no overhead at all). The raw driver sends `BEGIN`, one upsert that returns "
        "the value, and `COMMIT`, with no Django; ours is `get_next_value()` inside its own "
        "`transaction.atomic()`. The Django floor sends the raw driver's upsert through "
        "Django's `connection.cursor()` inside `transaction.atomic()`, with no `sequences` "
        "code: what any Django code pays before a library adds anything, so "
        "`ours/Django floor` is the part of the overhead that is ours.",
        "",
        report,
    ]
    path.write_text("\n".join(text) + "\n")
