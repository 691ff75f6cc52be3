"""The demo's settings: environment first, development-only defaults."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import pytest
from django.core.exceptions import ImproperlyConfigured

DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"
VARIABLES = ["DATABASE_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS"]


def load(monkeypatch: pytest.MonkeyPatch, **environment: str) -> ModuleType:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return importlib.reload(importlib.import_module("demo.demoproject.settings"))


@pytest.fixture(autouse=True)
def restore_module(monkeypatch):
    yield
    load(monkeypatch)


def test_defaults_serve_locally_with_debug_on_an_sqlite_file_in_demo(monkeypatch):
    settings = load(monkeypatch)

    assert settings.DEBUG is True
    assert settings.ALLOWED_HOSTS == ["127.0.0.1", "localhost", "[::1]"]
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert settings.DATABASES["default"]["NAME"] == str(DEMO_DIR / "db.sqlite3")


def test_development_secret_key_is_refused_when_debug_is_off(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY must be set"):
        load(monkeypatch, DEBUG="false")


def test_environment_overrides_every_default(monkeypatch):
    settings = load(
        monkeypatch,
        DEBUG="false",
        SECRET_KEY="from-the-environment",
        ALLOWED_HOSTS="demo.example,www.demo.example",
        DATABASE_URL="postgres://demo:pw@db.example:5433/invoices",
    )

    assert settings.DEBUG is False
    assert settings.SECRET_KEY == "from-the-environment"
    assert settings.ALLOWED_HOSTS == ["demo.example", "www.demo.example"]
    database = settings.DATABASES["default"]
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["NAME"], database["HOST"], database["PORT"]) == (
        "invoices",
        "db.example",
        5433,
    )


def test_mariadb_url_gets_a_utf8mb4_connection(monkeypatch):
    settings = load(monkeypatch, DATABASE_URL="mysql://root@127.0.0.1:3306/invoices")

    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.mysql"
    assert settings.DATABASES["default"]["OPTIONS"] == {"charset": "utf8mb4"}


def test_sqlite_waits_for_the_write_lock(monkeypatch):
    settings = load(monkeypatch, DATABASE_URL="sqlite:////tmp/elsewhere.sqlite3")

    assert settings.DATABASES["default"]["NAME"] == "/tmp/elsewhere.sqlite3"
    assert settings.DATABASES["default"]["OPTIONS"] == {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
    }


def test_demo_turns_strict_mode_on_and_sqlite_immediate(monkeypatch):
    settings = load(monkeypatch)

    assert settings.SEQUENCES_REQUIRE_TRANSACTION is True
    assert settings.DATABASES["default"]["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
