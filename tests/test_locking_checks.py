"""System checks of sequences.checks: each fires when it should and stays silent otherwise."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from sequences.checks import check_databases, check_settings, database_messages

ROOT = Path(__file__).resolve().parent.parent

SQLITE = {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}
POSTGRESQL = {"ENGINE": "django.db.backends.postgresql", "NAME": "db"}


def ids(messages: list[Any]) -> list[str]:
    return [message.id for message in messages]


def test_sqlite_without_immediate_is_w101_with_a_hint():
    (message,) = database_messages({"default": SQLITE})
    assert message.id == "sequences.W101"
    assert "'default' is SQLite without" in message.msg
    assert '"transaction_mode": "IMMEDIATE"' in str(message.hint)
    assert message.obj == "default"


@pytest.mark.parametrize("mode", [None, "DEFERRED", "EXCLUSIVE"])
def test_sqlite_in_other_modes_is_w101(mode):
    config = {**SQLITE, "OPTIONS": {"transaction_mode": mode}}
    assert ids(database_messages({"default": config})) == ["sequences.W101"]


@pytest.mark.parametrize("mode", ["IMMEDIATE", "immediate"])
def test_sqlite_with_immediate_is_silent(mode):
    config = {**SQLITE, "OPTIONS": {"transaction_mode": mode, "timeout": 20}}
    assert database_messages({"default": config}) == []


def test_each_alias_is_named():
    messages = database_messages({"default": SQLITE, "other": SQLITE})
    assert [message.obj for message in messages] == ["default", "other"]


def snapshot_levels() -> list[Any]:
    from django.db.backends.postgresql.psycopg_any import IsolationLevel

    return [IsolationLevel.REPEATABLE_READ, IsolationLevel.SERIALIZABLE]


@pytest.mark.parametrize("index", [0, 1])
def test_postgresql_at_a_snapshot_level_is_w102_with_the_retry_recipe(index):
    level = snapshot_levels()[index]
    for value in (level, int(level)):  # the enum member, or the bare int of the driver
        config = {**POSTGRESQL, "OPTIONS": {"isolation_level": value}}
        (message,) = database_messages({"default": config})
        assert message.id == "sequences.W102"
        assert level.name.replace("_", " ") in message.msg
        assert "SQLSTATE 40001" in str(message.hint) and "retry recipe" in str(message.hint)


def test_postgresql_at_read_committed_or_default_is_silent():
    from django.db.backends.postgresql.psycopg_any import IsolationLevel

    assert database_messages({"default": POSTGRESQL}) == []
    config = {**POSTGRESQL, "OPTIONS": {"isolation_level": IsolationLevel.READ_COMMITTED}}
    assert database_messages({"default": config}) == []


def test_other_engines_are_silent():
    config = {"ENGINE": "django.db.backends.mysql", "NAME": "db"}
    assert database_messages({"default": config}) == []


def test_databases_the_router_keeps_sequences_off_are_skipped():
    class NoSequencesOnOther:
        def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
            return False if db == "other" else None

    with override_settings(DATABASE_ROUTERS=[NoSequencesOnOther()]):
        messages = database_messages({"default": SQLITE, "other": SQLITE})
    assert [message.obj for message in messages] == ["default"]


def test_the_registered_check_reads_the_databases_setting():
    from django.conf import settings

    expected = database_messages(settings.DATABASES)
    assert ids(check_databases()) == ids(expected)


@pytest.mark.parametrize(
    ("setting", "value", "check_id", "text"),
    [
        ("SEQUENCES_LOCK_TIMEOUT", -1, "sequences.E101", "0 or more seconds"),
        ("SEQUENCES_LOCK_TIMEOUT", "5", "sequences.E101", "number of seconds"),
        ("SEQUENCES_LOCK_TIMEOUT", float("nan"), "sequences.E101", "0 or more seconds"),
        ("SEQUENCES_REQUIRE_TRANSACTION", "yes", "sequences.E102", "True or False"),
        ("SEQUENCES_REQUIRE_TRANSACTION", 1, "sequences.E102", "True or False"),
        ("SEQUENCES_REPORT_UNREPLICATED_COMMITS", "False", "sequences.E103", "True or False"),
    ],
)
def test_invalid_settings_are_errors_with_a_hint(setting, value, check_id, text):
    with override_settings(**{setting: value}):
        (message,) = check_settings()
    assert message.id == check_id
    assert message.msg.startswith(f"{setting} is invalid:") and text in message.msg
    assert message.hint


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"SEQUENCES_LOCK_TIMEOUT": None, "SEQUENCES_REQUIRE_TRANSACTION": False},
        {"SEQUENCES_LOCK_TIMEOUT": 0, "SEQUENCES_REQUIRE_TRANSACTION": True},
        {"SEQUENCES_REPORT_UNREPLICATED_COMMITS": False},
        {"SEQUENCES_LOCK_TIMEOUT": 2.5},
        {"SEQUENCES_LOCK_TIMEOUT": float("inf")},
    ],
)
def test_valid_settings_are_silent(values):
    with override_settings(**values):
        assert check_settings() == []


def run_check(databases: dict[str, Any], **extra: Any) -> subprocess.CompletedProcess[str]:
    """Run ``manage.py check`` in a fresh process with these settings."""
    script = textwrap.dedent(
        f"""
        import django
        from django.conf import settings
        from django.core.management import call_command

        settings.configure(
            INSTALLED_APPS=["django.contrib.contenttypes", "sequences"],
            DATABASES={databases!r},
            DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
            **{extra!r},
        )
        django.setup()
        call_command("check")
        """
    )
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_manage_py_check_reports_the_checks_without_a_query():
    # NAME is a directory that cannot hold a database: a query would fail.
    databases = {"default": {**SQLITE, "NAME": "/nonexistent/dir/db.sqlite3"}}
    result = run_check(databases, SEQUENCES_LOCK_TIMEOUT=-2)
    assert "sequences.W101" in result.stderr
    assert "sequences.E101" in result.stderr
    assert result.returncode == 1  # an error stops the command


def test_manage_py_check_is_silent_when_configured_well():
    databases = {
        "default": {**SQLITE, "NAME": ":memory:", "OPTIONS": {"transaction_mode": "IMMEDIATE"}}
    }
    result = run_check(databases, SEQUENCES_LOCK_TIMEOUT=5)
    assert result.returncode == 0, result.stderr
    assert "sequences." not in result.stderr + result.stdout
