"""The ``billing`` fixture app, installed for one test with its migrations in a tmp dir.

The app's code is ``tests.billing`` (label ``billing``, model ``Invoice``);
its migrations module is ``billing.migrations`` under ``tmp_path``, starting
as a copy of ``tests/billing/migrations/0001_initial.py``, so that
``makemigrations billing`` writes there. 0001 is applied on both databases
and everything is unapplied again afterwards.
"""

from __future__ import annotations

import importlib
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command

TEMPLATE = Path(__file__).parent / "billing" / "migrations" / "0001_initial.py"
DATABASES = ["default", "other"]


def _forget(package: str) -> None:
    for module in [m for m in sys.modules if m == package or m.startswith(f"{package}.")]:
        del sys.modules[module]


@pytest.fixture(name="billing")
def billing_fixture(tmp_path: Path, settings, monkeypatch) -> Iterator[Path]:
    """The billing app's migrations directory (in tmp_path); cwd is tmp_path."""
    migrations = tmp_path / "billing" / "migrations"
    migrations.mkdir(parents=True)
    (tmp_path / "billing" / "__init__.py").touch()
    (migrations / "__init__.py").touch()
    shutil.copy(TEMPLATE, migrations / "0001_initial.py")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    _forget("billing")
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "tests.billing"]
    settings.MIGRATION_MODULES = {"billing": "billing.migrations"}
    for alias in DATABASES:
        call_command("migrate", "billing", database=alias, verbosity=0)
    yield migrations
    settings.DATABASE_ROUTERS = []
    for alias in DATABASES:
        call_command("migrate", "billing", "zero", database=alias, verbosity=0)
    _forget("billing")
    importlib.invalidate_caches()
