"""The admin, the commands and the migrations under a relabelled ``sequences`` app.

A project may install ``sequences`` as a subclass of ``SequencesConfig`` with
another ``label`` (its tables and URL names, permissions and migration
labels follow). The test here runs the test files below again in a pytest
process of their own, with ``SEQUENCES_TEST_RELABELLED=1`` (see
``tests/settings.py``), and fails if any of their tests fails, errors, is
skipped or does not run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from sequences.models import Sequence, SequenceChange

from . import settings as test_settings

ROOT = Path(__file__).resolve().parent.parent

#: What runs again under the relabelled app: every test of the admin (but
#: the browser tests, which need Chromium), of the commands, of resets and of
#: seed migrations and their scaffold, and the check below that the app
#: really is relabelled in that run.
RELABELLED_TESTS = [
    "tests/test_relabelled.py::test_the_app_is_installed_under_the_label_the_run_asks_for",
    "tests/test_admin_escaping.py",
    "tests/test_admin_readonly.py",
    "tests/test_admin_reset.py",
    "tests/test_admin_scale.py",
    "tests/test_admin_site.py",
    "tests/test_commands.py",
    "tests/test_operations.py",
    "tests/test_reset.py",
    "tests/test_seed_migrations.py",
]

#: Fewer tests than this means files or tests went missing from the run.
MINIMUM_TESTS = 300


def test_the_app_is_installed_under_the_label_the_run_asks_for():
    label = "gapless" if test_settings.RELABELLED else "sequences"
    assert Sequence._meta.app_label == SequenceChange._meta.app_label == label
    assert Sequence._meta.db_table == f"{label}_sequence"


def test_admin_commands_and_migrations_pass_under_a_relabelled_app(tmp_path):
    junit = tmp_path / "relabelled.xml"
    prefix = os.environ.get("SEQUENCES_TEST_DB_PREFIX", "sequences")
    environment = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            f"--junitxml={junit}", *RELABELLED_TESTS,
        ],
        cwd=ROOT,
        env={
            **environment,
            "SEQUENCES_TEST_RELABELLED": "1",
            # Test databases of their own, beside this run's.
            "SEQUENCES_TEST_DB_PREFIX": f"{prefix}relabelled_",
        },
        capture_output=True,
        text=True,
        timeout=3600,
    )  # fmt: skip
    summary = result.stdout[-3000:] + result.stderr[-3000:]
    assert result.returncode == 0, summary
    suite = ET.parse(junit).getroot()
    suite = suite if suite.tag == "testsuite" else suite[0]
    counts = {key: int(suite.get(key, 0)) for key in ("tests", "failures", "errors", "skipped")}
    assert counts["failures"] == counts["errors"] == counts["skipped"] == 0, summary
    assert counts["tests"] >= MINIMUM_TESTS, summary
    assert "test_the_app_is_installed_under_the_label_the_run_asks_for" in junit.read_text()
