"""The ``shop`` fixture app, installed for one test with its migrations in a tmp dir.

The app's code is ``tests.shop`` (label ``shop``, model ``Invoice``);
its migrations module is ``shop.migrations`` under ``tmp_path``, starting
as a copy of ``tests/shop/migrations/0001_initial.py``, so that
``makemigrations shop`` writes there. 0001 is applied on both databases
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

TEMPLATE = Path(__file__).parent / "shop" / "migrations" / "0001_initial.py"
DATABASES = ["default", "other"]


def _forget(package: str) -> None:
    for module in [m for m in sys.modules if m == package or m.startswith(f"{package}.")]:
        del sys.modules[module]


@pytest.fixture(name="shop")
def shop_fixture(tmp_path: Path, settings, monkeypatch) -> Iterator[Path]:
    """The shop app's migrations directory (in tmp_path); cwd is tmp_path."""
    migrations = tmp_path / "shop" / "migrations"
    migrations.mkdir(parents=True)
    (tmp_path / "shop" / "__init__.py").touch()
    (migrations / "__init__.py").touch()
    shutil.copy(TEMPLATE, migrations / "0001_initial.py")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    _forget("shop")
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "tests.shop"]
    settings.MIGRATION_MODULES = {"shop": "shop.migrations"}
    for alias in DATABASES:
        call_command("migrate", "shop", database=alias, verbosity=0)
    yield migrations
    settings.DATABASE_ROUTERS = []
    for alias in DATABASES:
        call_command("migrate", "shop", "zero", database=alias, verbosity=0)
    _forget("shop")
    importlib.invalidate_caches()
