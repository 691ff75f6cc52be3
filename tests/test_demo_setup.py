"""``make demo-setup`` from scratch, twice, on the backend under test.

Runs the real Makefile target in a subprocess against a fresh database (a
temporary SQLite file, or a database of its own on the PostgreSQL or MariaDB
server), the way ``DATABASE_URL=... make demo`` does before serving.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests import settings as test_settings

ROOT = Path(__file__).resolve().parent.parent

CHECK = """
import json
from django.contrib.auth import get_user_model
from demo.billing.models import Customer, Invoice
from sequences import get_last_value
User = get_user_model()
staff = User.objects.get(username="staff")
print(json.dumps({
    "superusers": [user.username for user in User.objects.filter(is_superuser=True)],
    "staff_is_staff": staff.is_staff,
    "staff_can_view": staff.has_perm("sequences.view_sequence"),
    "staff_can_reset": staff.has_perm("sequences.reset_sequence"),
    "customers": sorted(Customer.objects.values_list("number", flat=True)),
    "invoices": Invoice.objects.count(),
    "customer_sequence": get_last_value("billing.customer"),
}))
"""


def server_connection(backend: str):
    if backend == "postgresql":
        try:
            import psycopg

            return psycopg.connect(
                host=os.environ.get("PGHOST", "127.0.0.1"),
                port=int(os.environ.get("PGPORT", "5432")),
                user=os.environ.get("PGUSER", "postgres"),
                dbname="postgres",
                autocommit=True,
            )
        except ImportError:
            import psycopg2

            connection = psycopg2.connect(
                host=os.environ.get("PGHOST", "127.0.0.1"),
                port=int(os.environ.get("PGPORT", "5432")),
                user=os.environ.get("PGUSER", "postgres"),
                dbname="postgres",
            )
            connection.autocommit = True
            return connection
    import MySQLdb

    return MySQLdb.connect(
        host=os.environ.get("MYSQL_HOST", "127.0.0.1"),
        port=int(os.environ.get("MYSQL_PORT", "3306")),
        user=os.environ.get("MYSQL_USER", "root"),
        password=os.environ.get("MYSQL_PASSWORD", ""),
    )


def run_on_server(backend: str, *statements: str) -> None:
    connection = server_connection(backend)
    try:
        cursor = connection.cursor()
        for statement in statements:
            cursor.execute(statement)
    finally:
        connection.close()


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database for the demo on the backend under test."""
    backend = test_settings.BACKEND
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'demo.sqlite3'}"
        return
    name = f"{test_settings.PREFIX}_demo_setup"
    if backend == "postgresql":
        user = quote(os.environ.get("PGUSER", "postgres"))
        host = os.environ.get("PGHOST", "127.0.0.1")
        port = os.environ.get("PGPORT", "5432")
        url = f"postgres://{user}@{host}:{port}/{name}"
        drop = f'DROP DATABASE IF EXISTS "{name}"'
        create = f'CREATE DATABASE "{name}"'
    else:
        user = quote(os.environ.get("MYSQL_USER", "root"))
        password = quote(os.environ.get("MYSQL_PASSWORD", ""), safe="")
        host = os.environ.get("MYSQL_HOST", "127.0.0.1")
        port = os.environ.get("MYSQL_PORT", "3306")
        url = f"mysql://{user}:{password}@{host}:{port}/{name}"
        drop = f"DROP DATABASE IF EXISTS `{name}`"
        create = f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"
    run_on_server(backend, drop, create)
    try:
        yield url
    finally:
        run_on_server(backend, drop)


def demo_environment(database_url: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        # The demo reads these itself; the test run's own must not leak in.
        if key not in {"DJANGO_SETTINGS_MODULE", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"}
        and not key.startswith("DEMO_")
    }
    env["DATABASE_URL"] = database_url
    return env


def make_demo_setup(env: dict[str, str]) -> str:
    """Run ``make demo-setup`` with this interpreter's environment standing in for .venv."""
    result = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-o",
            ".venv/.installed",  # the project is installed already: skip (re)installing it
            "demo-setup",
            f"BIN={Path(sys.executable).parent}",
            "PORT=8765",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def demo_state(env: dict[str, str]) -> Any:
    result = subprocess.run(
        [sys.executable, "demo/manage.py", "shell", "-c", CHECK],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_make_demo_setup_works_from_scratch_and_again(database_url):
    env = demo_environment(database_url)

    first = make_demo_setup(env)
    second = make_demo_setup(env)

    assert "Sample data: 3 customers, 2 invoices." in first
    assert "Sample data: already there, left as it is." in second
    for output in (first, second):
        assert "superuser   admin / admin" in output
        assert "staff user  staff / staff" in output
        assert "http://127.0.0.1:8765/" in output
    assert demo_state(env) == {
        "superusers": ["admin"],
        "staff_is_staff": True,
        "staff_can_view": True,
        "staff_can_reset": False,
        "customers": [1000, 1001, 1002],
        "invoices": 2,
        "customer_sequence": 1002,
    }
