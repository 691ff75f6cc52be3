"""System checks of the database configuration and the ``SEQUENCES_*`` settings.

They read settings only and send no query, so ``manage.py check`` works
without a database server. IDs in the ``E101``/``W101`` block are this
module's (listed in docs/locking.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.db import router

from .conf import DEFAULTS, parse_setting

RETRY_RECIPE = (
    "the retry recipe in docs/databases.md, 'Retrying after a serialization failure' "
    "(https://pypi.org/project/django-gapless-sequences/)"
)

SETTING_CHECK_IDS = {
    "SEQUENCES_LOCK_TIMEOUT": "sequences.E101",
    "SEQUENCES_REQUIRE_TRANSACTION": "sequences.E102",
}

#: PostgreSQL isolation levels at which a draw can fail with a serialization error.
SNAPSHOT_LEVELS = {"REPEATABLE_READ", "SERIALIZABLE"}


def check_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """``sequences.E101``/``E102``: a ``SEQUENCES_*`` setting this app cannot use."""
    errors: list[checks.CheckMessage] = []
    for name, check_id in SETTING_CHECK_IDS.items():
        value = getattr(settings, name, DEFAULTS[name])
        try:
            parse_setting(name, value)
        except (TypeError, ValueError) as exc:
            errors.append(
                checks.Error(
                    f"{name} is invalid: {exc}.",
                    hint=_SETTING_HINTS[name],
                    obj=name,
                    id=check_id,
                )
            )
    return errors


_SETTING_HINTS = {
    "SEQUENCES_LOCK_TIMEOUT": (
        "Set it to the longest a draw may wait for a sequence held by another "
        "transaction, in seconds (e.g. 5 or 0.5), to 0 to never wait, or remove it "
        "(None: wait as the database does)."
    ),
    "SEQUENCES_REQUIRE_TRANSACTION": (
        "Set it to True to refuse draws outside a transaction, or remove it (False)."
    ),
}


def check_databases(
    app_configs: Sequence[AppConfig] | None = None,
    databases: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[checks.CheckMessage]:
    """``sequences.W101`` (SQLite without IMMEDIATE), ``W102`` (PostgreSQL snapshot levels)."""
    return database_messages(settings.DATABASES)


def database_messages(databases: dict[str, dict[str, Any]]) -> list[checks.CheckMessage]:
    """The warnings for a ``DATABASES`` setting, read from the settings alone (no query).

    Every alias that sequences may be written to (the router allows the
    ``Sequence`` model there) is checked.
    """
    from .models import Sequence as SequenceRow

    messages: list[checks.CheckMessage] = []
    for alias, config in databases.items():
        if not router.allow_migrate_model(alias, SequenceRow):
            continue
        engine = str(config.get("ENGINE", ""))
        options = config.get("OPTIONS") or {}
        if "sqlite3" in engine:
            mode = str(options.get("transaction_mode") or "").upper()
            if mode != "IMMEDIATE":
                messages.append(
                    checks.Warning(
                        f"Database {alias!r} is SQLite without "
                        '"transaction_mode": "IMMEDIATE": a transaction that has read '
                        "and then draws a sequence value fails with 'database is "
                        "locked' (SequenceLocked) whenever another one writes, and "
                        "several writers make little progress.",
                        hint=(
                            f'Add "transaction_mode": "IMMEDIATE" to DATABASES[{alias!r}]'
                            '["OPTIONS"], so that transactions queue for the write lock '
                            'at BEGIN (for up to the "timeout" option) instead of '
                            "failing. Silence sequences.W101 if a single process writes."
                        ),
                        obj=alias,
                        id="sequences.W101",
                    )
                )
        elif "postgresql" in engine:
            level = _postgresql_level_name(options.get("isolation_level"))
            if level in SNAPSHOT_LEVELS:
                messages.append(
                    checks.Warning(
                        f"Database {alias!r} runs PostgreSQL at "
                        f"{level.replace('_', ' ')}: a draw that waited for another "
                        "transaction using the same sequence fails with a "
                        "serialization error (SQLSTATE 40001) instead of continuing.",
                        hint=(
                            "Use READ COMMITTED (PostgreSQL's default) for transactions "
                            "that draw values, or retry the whole transaction on "
                            f"SQLSTATE 40001: see {RETRY_RECIPE}."
                        ),
                        obj=alias,
                        id="sequences.W102",
                    )
                )
    return messages


def _postgresql_level_name(level: Any) -> str | None:
    """The name of an ``OPTIONS["isolation_level"]`` value, for psycopg 3 and psycopg2."""
    if level is None:
        return None
    name = getattr(level, "name", None)  # an IsolationLevel enum member
    if isinstance(name, str):
        return name.upper()
    if isinstance(level, str):
        return level.strip().upper().replace(" ", "_")
    try:  # a bare int: its meaning depends on the driver Django uses
        from django.db.backends.postgresql.psycopg_any import IsolationLevel
    except ImportError:
        return None
    try:
        return IsolationLevel(level).name.upper()
    except ValueError:
        return None
