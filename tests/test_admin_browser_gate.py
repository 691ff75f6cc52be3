"""Without Chromium or Playwright the browser test skips locally and fails in CI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BROWSER_TEST = "tests/test_admin_browser.py"


def run_browser_test_without_chromium(ci: str | None) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ,
        SEQUENCES_TEST_CHROMIUM="/nonexistent/chromium",
        SEQUENCES_TEST_BACKEND="sqlite",
        # Databases of its own: the outer test run is still using the usual ones.
        SEQUENCES_TEST_DB_PREFIX=os.environ.get("SEQUENCES_TEST_DB_PREFIX", "sequences") + "_gate",
    )
    env.pop("CI", None)
    env.pop("COVERAGE_PROCESS_START", None)
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", BROWSER_TEST],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_missing_chromium_skips_the_browser_test_outside_ci():
    result = run_browser_test_without_chromium(ci=None)

    assert result.returncode == 0, result.stdout
    assert "1 skipped" in result.stdout
    assert "/nonexistent/chromium is missing (apt-get install -y chromium)" in result.stdout


def test_missing_chromium_fails_the_browser_test_in_ci():
    result = run_browser_test_without_chromium(ci="true")

    assert result.returncode == 1
    assert "1 error" in result.stdout  # pytest.fail() in the fixture: an error, not a skip
    assert "The browser test must run in CI, but /nonexistent/chromium is missing" in (
        result.stdout
    )
