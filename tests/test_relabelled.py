"""The admin, the commands and the migrations under a relabelled ``sequences`` app.

A project may install ``sequences`` as a subclass of ``SequencesConfig`` with
another ``label`` (its tables and URL names, permissions and migration
labels follow). The test here runs the test files below again in a pytest
process of their own, with ``SEQUENCES_TEST_RELABELLED=1`` (see
``tests/settings.py``), and fails if any of their tests fails, errors, is
skipped or does not run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from django.core.checks import run_checks

from sequences import get_next_value
from sequences.models import Sequence, SequenceChange
from sequences.relabelling import check_tables_left_behind

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


# Relabelling an installation that has handed out numbers

CHECK_SCRIPT = """
import json, os
import django
from django.conf import settings

case = json.loads(os.environ["CASE"])
settings.configure(
    DATABASES={"default": case["database"]},
    INSTALLED_APPS=case["apps"],
    USE_TZ=True,
    DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
)
django.setup()
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connection

creation = connection.creation
name = creation._create_test_db(verbosity=0, autoclobber=True, keepdb=False)
connection.close()
connection.settings_dict["NAME"] = name
try:
    with connection.cursor() as cursor:
        # What django-sequences (3.1 or this one) left under the label "sequences".
        cursor.execute("CREATE TABLE sequences_sequence (name VARCHAR(100) PRIMARY KEY, "
                       "last BIGINT NOT NULL)")
        for row in case["old_rows"]:
            cursor.execute("INSERT INTO sequences_sequence (name, last) VALUES (%s, %s)", row)
    try:
        # Checks run as they do on the command line (call_command skips them).
        call_command("migrate", verbosity=0, skip_checks=False)
        outcome = "migrated"
    except SystemCheckError as exc:
        outcome = str(exc)
    print(json.dumps({
        "outcome": outcome,
        "tables": sorted(t for t in connection.introspection.table_names()
                         if t.endswith("_sequence")),
    }))
finally:
    connection.close()
    creation._destroy_test_db(name, verbosity=0)
"""

RELABELLED_APP = "tests.relabelled.RelabelledSequencesConfig"


def migrate_fresh_database(apps, old_rows):
    case = {"apps": apps, "old_rows": old_rows, "database": test_settings.database("_left")}
    environment = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-c", CHECK_SCRIPT],
        cwd=ROOT,
        env={**environment, "CASE": json.dumps(case)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_migrate_under_a_new_label_stops_when_the_old_table_holds_sequences():
    outcome = migrate_fresh_database([RELABELLED_APP], [["invoices", 42]])
    assert outcome["tables"] == ["sequences_sequence"]  # nothing created
    assert "sequences.E020" in outcome["outcome"]
    assert (
        "The sequences app is installed under the label 'gapless', so its table is "
        "'gapless_sequence', which is missing or empty on database 'default'; but "
        "'sequences_sequence' there holds sequences."
    ) in outcome["outcome"]


def test_migrate_under_a_new_label_goes_on_when_the_old_table_is_empty():
    outcome = migrate_fresh_database([RELABELLED_APP], [])
    assert outcome == {"outcome": "migrated", "tables": ["gapless_sequence", "sequences_sequence"]}


@pytest.mark.django_db
def test_the_check_is_silent_under_the_label_the_tables_have():
    get_next_value("invoices")
    assert check_tables_left_behind(databases=["default"]) == []
    assert run_checks(tags=["database"], databases=["default"]) == []


def test_migrate_under_a_new_label_goes_on_when_another_app_holds_sequences():
    apps = [RELABELLED_APP, "tests.relabelled.SequencesLabelClashConfig"]
    outcome = migrate_fresh_database(apps, [["theirs", 7]])
    assert outcome == {"outcome": "migrated", "tables": ["gapless_sequence", "sequences_sequence"]}
