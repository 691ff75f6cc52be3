"""Client instructions per call, counted by valgrind: ours, the Django floor and 3.1.

``python -m benchmarks.instructions [--backends postgresql,mariadb,sqlite] [--calls N]
[--output FILE]`` (``make bench-instructions``).

Client CPU time per call (``time.process_time()``) moves by 10% from one
repetition to the next on a shared 2-core machine, which is more than the
difference it is meant to show (a few microseconds in several hundred).
Instructions do not move: ``valgrind --tool=callgrind`` counts those the
client process executes (Python, Django, the driver; not the database
server, which is another process), the same count for the same code and
inputs whatever else the machine does. Each implementation runs in a worker
process (``benchmarks/worker.py``'s implementations) under callgrind twice,
with ``N`` and ``5 N`` calls, each in its own ``transaction.atomic()``; the
difference divided by ``4 N`` is the count per call, without start-up,
imports and connection. ``PYTHONHASHSEED`` is fixed so that both runs hash
alike. Needs valgrind (Debian's ``valgrind``) and, for 3.1, the throwaway
virtualenv that ``make bench`` makes (``SEQUENCES_BENCH_V31_VENV``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import databases

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CASES = {
    "steady state": {"kind": "plain", "batch": 1},
    "nowait=True": {"kind": "nowait", "batch": 1},
    # On SQLite (transaction_mode IMMEDIATE in benchmarks/settings.py) neither
    # nowait=True nor timeout=5 runs a PRAGMA inside atomic(). 3.1 has no
    # timeout.
    "timeout=5": {"kind": "timeout", "batch": 1},
}
IMPLS = ("django", "ours", "v31")
LABELS = {"django": "Django floor", "ours": "ours", "v31": "django-sequences 3.1"}

RUNNER = """
import json, sys
sys.argv = ["worker.py", {impl!r}]
sys.path.insert(0, {here!r})
import worker
impl = worker.DjangoImplementation({impl!r})
if {migrate!r}:
    impl.migrate()
case = dict({case!r}, name="instructions", alias="default")
call = impl.make(case)
for _ in range({calls}):
    call()
print(json.dumps({{"last": call()}}))
"""


def count(python: str, impl: str, case: dict[str, Any], calls: int, env: dict[str, str]) -> int:
    """Instructions of a worker making ``calls`` calls (plus one), start-up included."""
    with tempfile.TemporaryDirectory(prefix="seq_bench_callgrind") as tmp:
        out = Path(tmp) / "callgrind.out"
        script = RUNNER.format(impl=impl, here=str(HERE), migrate=False, case=case, calls=calls)
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                "--trace-children=no",
                python,
                "-c",
                script,
            ],
            # Not in the project root: 3.1's python must import its own sequences.
            cwd=tmp,
            env=env,
            check=True,
            capture_output=True,
        )
        totals = re.search(r"^totals:\s+(\d+)", out.read_text(), re.MULTILINE)
        if totals is None:
            raise RuntimeError(f"no totals in callgrind's output for {impl}")
        return int(totals.group(1))


def per_call(
    python: str, impl: str, case: dict[str, Any], calls: int, env: dict[str, str]
) -> float:
    few = count(python, impl, case, calls, env)
    many = count(python, impl, case, 5 * calls, env)
    return (many - few) / (4 * calls)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="postgresql,mariadb,sqlite")
    parser.add_argument("--calls", type=int, default=100, help="N (default 100)")
    parser.add_argument("--output", help="write the markdown table here as well")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    v31 = os.environ.get("SEQUENCES_BENCH_V31_VENV")
    v31_python = str(Path(v31) / "bin" / "python") if v31 else None
    if v31_python and not Path(v31_python).exists():
        v31_python = None
    started = time.monotonic()
    lines = [
        "# Client instructions per call",
        "",
        "`python -m benchmarks.instructions` (`make bench-instructions`): instructions the "
        "client process executes per call (Python, Django, the driver; not the server), "
        "counted by `valgrind --tool=callgrind`, each call in its own `transaction.atomic()`. "
        f"Two runs per cell, {args.calls} and {5 * args.calls} calls; the difference per "
        "call. The count does not depend on the machine's load. The Django floor sends "
        "ours' SQL through Django's cursor (as in `make bench`).",
        "",
    ]
    for backend in args.backends.split(","):
        problem = databases.reachable(backend)
        if problem:
            lines += [f"{backend}: skipped ({problem})", ""]
            continue
        env = dict(
            os.environ,
            SEQUENCES_TEST_BACKEND=backend,
            PYTHONHASHSEED="0",
            DJANGO_SETTINGS_MODULE="benchmarks.settings",
        )
        databases.create_databases(backend)
        try:
            # Migrate once, outside valgrind.
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    RUNNER.format(
                        impl="ours",
                        here=str(HERE),
                        migrate=True,
                        case=CASES["steady state"],
                        calls=1,
                    ),
                ],
                cwd=tempfile.gettempdir(),
                env=env,
                check=True,
                capture_output=True,
            )
            impls = [i for i in IMPLS if i != "v31" or v31_python]
            lines += [
                f"## {backend}",
                "",
                "| case | " + " | ".join(LABELS[i] for i in impls) + " | ours − floor |",
                "|---|" + "---|" * (len(impls) + 1),
            ]
            for label, case in CASES.items():
                cells = {}
                for impl in impls:
                    if impl == "v31" and case["kind"] == "timeout":
                        continue
                    python = v31_python if impl == "v31" and v31_python else sys.executable
                    cells[impl] = per_call(python, impl, case, args.calls, env)
                    print(f"{backend} {label} {impl}: {cells[impl]:,.0f}", flush=True)
                row = [f"{cells[i]:,.0f}" if i in cells else "n/a" for i in impls]
                row.append(f"{cells['ours'] - cells['django']:+,.0f}")
                lines.append(f"| {label} | " + " | ".join(row) + " |")
            lines.append("")
        finally:
            databases.drop_databases(backend)
    if not v31_python:
        lines += ["django-sequences 3.1: left out (set SEQUENCES_BENCH_V31_VENV).", ""]
    lines.append(f"Total time: {(time.monotonic() - started) / 60:.1f} minutes.")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
