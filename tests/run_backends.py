"""Run the test suite once per database backend and combine coverage.

Used by ``make test``. Each backend runs in its own pytest process (the
settings pick the backend from ``SEQUENCES_TEST_BACKEND``). Unreachable
servers are skipped and reported, unless ``CI=true`` or ``--require-all``,
where they fail the run. Coverage is gated only when every backend ran, since
each backend's module is covered only by its own server.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

BACKENDS = ("sqlite", "postgresql", "mariadb")
ROOT = Path(__file__).resolve().parent.parent
DRIVER_HINTS = {
    "MySQLdb": ": apt-get install -y pkg-config libmariadb-dev, then make install builds it",
}


def unreachable(backend: str) -> str | None:
    """Why ``backend`` cannot be tested here, or ``None`` if it can."""
    try:
        if backend == "postgresql":
            try:
                import psycopg as driver
            except ImportError:
                import psycopg2 as driver  # type: ignore[no-redef]
            driver.connect(
                host=os.environ.get("PGHOST", "127.0.0.1"),
                port=int(os.environ.get("PGPORT", "5432")),
                user=os.environ.get("PGUSER", "postgres"),
                dbname="postgres",
                connect_timeout=3,
            ).close()
        elif backend == "mariadb":
            import MySQLdb

            MySQLdb.connect(
                host=os.environ.get("MYSQL_HOST", "127.0.0.1"),
                port=int(os.environ.get("MYSQL_PORT", "3306")),
                user=os.environ.get("MYSQL_USER", "root"),
                password=os.environ.get("MYSQL_PASSWORD", ""),
                connect_timeout=3,
            ).close()
    except ImportError as exc:
        return f"driver not installed ({exc.name}){DRIVER_HINTS.get(exc.name or '', '')}"
    except Exception as exc:  # any connection failure means "not here"
        return f"server unreachable ({str(exc).strip().splitlines()[0]})"
    return None


def run(backend: str, pytest_args: list[str], junit: Path) -> tuple[int, dict[str, int]]:
    env = dict(os.environ, SEQUENCES_TEST_BACKEND=backend)
    command = [
        sys.executable, "-m", "coverage", "run", "-m", "pytest",
        f"--junitxml={junit}", *pytest_args,
    ]  # fmt: skip
    print(f"\n=== {backend}: {' '.join(command[2:])}", flush=True)
    code = subprocess.call(command, cwd=ROOT, env=env)
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    if junit.exists():
        suite = ET.parse(junit).getroot()
        suite = suite if suite.tag == "testsuite" else suite[0]
        counts = {key: int(suite.get(key, 0)) for key in counts}
    return code, counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backends", default=os.environ.get("SEQUENCES_BACKENDS", ""))
    parser.add_argument("--require-all", action="store_true")
    parser.add_argument("--fail-under", type=float, default=95.0)
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest, options included")
    args, pytest_options = parser.parse_known_args()
    args.pytest_args += pytest_options
    backends = args.backends.split() or list(BACKENDS)
    require = args.require_all or os.environ.get("CI", "").lower() == "true"

    for stale in ROOT.glob(".coverage*"):
        stale.unlink()
    ran, skipped, failed = [], [], []
    ran_backends = []
    totals = {"passed": 0, "failed": 0, "skipped": 0}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            reason = unreachable(backend)
            if reason:
                skipped.append(f"{backend}: {reason}")
                continue
            code, counts = run(backend, args.pytest_args, Path(tmp, f"{backend}.xml"))
            ran_backends.append(backend)
            bad = counts["failures"] + counts["errors"]
            passed = counts["tests"] - bad - counts["skipped"]
            totals["passed"] += passed
            totals["failed"] += bad
            totals["skipped"] += counts["skipped"]
            ran.append(f"{backend}: {passed} passed, {bad} failed, {counts['skipped']} skipped")
            if code != 0:
                failed.append(backend)

    print("\n=== Backends")
    for line in ran:
        print(f"  ran      {line}")
    for line in skipped:
        print(f"  SKIPPED  {line}")
    status = 0 if ran and not failed else 1
    if skipped and require:
        print("Every backend is required here (CI=true or --require-all): failing.")
        status = 1

    if ran:
        subprocess.call([sys.executable, "-m", "coverage", "combine", "-q"], cwd=ROOT)
        report = [sys.executable, "-m", "coverage", "report"]
        if set(ran_backends) == set(BACKENDS) and not args.pytest_args:
            report.append(f"--fail-under={args.fail_under}")
        else:
            print("Coverage is not gated: not every backend ran, or tests were selected.")
        if subprocess.call(report, cwd=ROOT) != 0:
            print(f"Coverage is below {args.fail_under}%.")
            status = 1
    print(f"{totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} skipped")
    return status


if __name__ == "__main__":
    sys.exit(main())
