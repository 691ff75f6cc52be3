"""A database migrated and used by the published django-sequences 3.1 keeps working.

The published library has the same import name, so it runs in a throwaway
virtualenv (``.venv-upstream``, made on first use, with the driver of the
backend under test only) in a subprocess, against this test run's own
database. Then this code takes over the same tables.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection, connections

from sequences import get_last_value, get_next_value, get_next_values, reset_sequence
from sequences.models import SequenceChange

ROOT = Path(__file__).resolve().parent.parent
UPSTREAM_VENV = ROOT / ".venv-upstream"
UPSTREAM = "django-sequences==3.1"

UPSTREAM_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import django
    from django.conf import settings

    settings.configure(
        DATABASES={"default": json.loads(os.environ["UPSTREAM_DATABASE"])},
        INSTALLED_APPS=["sequences"],
        USE_TZ=True,
    )
    django.setup()
    from django.core.management import call_command
    from django.db import transaction
    import sequences

    assert "site-packages" in sequences.__file__, sequences.__file__
    call_command("migrate", "sequences", verbosity=0)
    with transaction.atomic():
        drawn = [sequences.get_next_value("invoices") for _ in range(3)]
    drawn.append(sequences.get_next_value("customers", initial_value=1000))
    print(json.dumps(drawn))
    """
)


# Only the driver of the backend under test: mysqlclient compiles against the
# MariaDB client headers, which a machine without MariaDB need not have.
UPSTREAM_DRIVERS = {"sqlite": [], "postgresql": ["psycopg2-binary"], "mysql": ["mysqlclient"]}


@pytest.fixture(scope="session")
def upstream_python() -> Path:
    python = UPSTREAM_VENV / "bin" / "python"
    marker = UPSTREAM_VENV / f".{UPSTREAM}"
    if not marker.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", UPSTREAM_VENV], check=True)
        subprocess.run(
            [python, "-m", "pip", "install", "-q", UPSTREAM, "Django>=5.2,<6"], check=True
        )
        marker.touch()
    drivers = UPSTREAM_DRIVERS[connection.vendor]
    driver_marker = UPSTREAM_VENV / f".drivers-{connection.vendor}"
    if drivers and not driver_marker.exists():
        subprocess.run([python, "-m", "pip", "install", "-q", *drivers], check=True)
        driver_marker.touch()
    return python


def run_upstream(
    python: Path, script: str = UPSTREAM_SCRIPT, env: dict[str, str] | None = None
) -> list[int]:
    """Run ``script`` with the published library on this run's database; its JSON output."""
    database = dict(connection.settings_dict)
    database = {k: v for k, v in database.items() if k in {
        "ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT", "OPTIONS"}}  # fmt: skip
    result = subprocess.run(
        [python, "-c", script],
        env={
            "PATH": os.environ["PATH"],
            "UPSTREAM_DATABASE": json.dumps(database),
            **(env or {}),
        },
        cwd=UPSTREAM_VENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return [int(value) for value in json.loads(result.stdout)]


@pytest.fixture
def upstream_database(transactional_db, upstream_python):
    """This run's database as django-sequences 3.1 leaves it: migrated and used."""
    call_command("migrate", "sequences", "zero", verbosity=0)
    connections.close_all()
    drawn = run_upstream(upstream_python)
    assert drawn == [1, 2, 3, 1000]
    yield
    rebuild_sequences_tables()


def rebuild_sequences_tables() -> None:
    """Drop and recreate the tables, so that later tests get a new database's.

    Migrating the published library's tables keeps its name matching on
    MariaDB (docs/collation.md); a new, empty table gets exact matching.
    """
    connections.close_all()
    call_command("migrate", "sequences", "zero", verbosity=0)
    call_command("migrate", verbosity=0)


def applied_sequences_migrations() -> list[str]:
    from django.db.migrations.recorder import MigrationRecorder

    recorder = MigrationRecorder(connection)
    return sorted(name for app, name in recorder.applied_migrations() if app == "sequences")


def test_sequences_continue_where_the_published_library_left_them(upstream_database):
    assert applied_sequences_migrations() == ["0001_initial", "0002_alter_sequence_last"]
    # Drawing needs no migration of ours: the table is the same.
    assert get_next_value("invoices") == 4
    assert get_next_values(2, "customers", initial_value=1000) == range(1001, 1003)
    assert get_next_value("invoices", nowait=True) == 5
    assert get_next_value("invoices", reset_value=100) == 6


def test_migrate_adds_the_audit_table(upstream_database):
    call_command("migrate", "sequences", verbosity=0)
    assert applied_sequences_migrations() == [
        "0001_initial",
        "0002_alter_sequence_last",
        "0003_sequencechange",
        "0004_binary_name_collation",
        "0005_sequencechange_collation_action",
    ]
    assert get_last_value("invoices") == 3
    reset_sequence("invoices", 10, expected_last=3, reason="after the switch")
    assert get_next_value("invoices") == 10
    assert SequenceChange.objects.get().last_before == 3


def test_models_match_the_migrations(db):
    """``makemigrations --check``: no model change ships without its migration."""
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
