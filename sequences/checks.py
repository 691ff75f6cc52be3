"""System checks of the installation and the configuration.

``sequences.W010``: the published django-sequences is installed as well.
``sequences.E101``/``E102``: an invalid ``SEQUENCES_*`` setting;
``sequences.W101``/``W102``: a database configured in a way that makes draws
fail (listed in docs/locking.md). None of them sends a query, so
``manage.py check`` works without a database server.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.db import router

from .conf import DEFAULTS, parse_setting

#: The published library, whose distribution installs a ``sequences/`` folder too.
PUBLISHED_DISTRIBUTION = "django-sequences"
#: This project's distribution.
DISTRIBUTION = "django-gapless-sequences"
#: The folder of the ``sequences`` package running this check.
PACKAGE_DIR = Path(__file__).resolve().parent
#: Only this project ships it: metadata that names it is this project under its old name.
OWN_ONLY_PACKAGE = "sequences_admin"

CONFLICT_HINT = (
    f"Run `pip uninstall {PUBLISHED_DISTRIBUTION}`, then reinstall {DISTRIBUTION} "
    "(`pip install --force-reinstall ...`): uninstalling either distribution deletes files "
    "of the other."
)


def check_published_distribution(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Warn when the published ``django-sequences`` is installed in this environment.

    Both distributions install a ``sequences/`` folder, so whichever was
    installed last overwrote the other's files, and uninstalling either one
    deletes files the other needs. Metadata of ``django-sequences`` that is this
    project under its old name (an editable install of this source, or an
    ``*.egg-info`` naming ``sequences_admin``) does not count.
    """
    return [
        checks.Warning(
            f"The published {PUBLISHED_DISTRIBUTION} {dist.version} is installed "
            f"({dist.locate_file('')}) as well as {DISTRIBUTION}: both install a "
            "sequences/ package, so each overwrites the other's files.",
            hint=CONFLICT_HINT,
            id="sequences.W010",
        )
        for dist in published_distributions()
    ]


def published_distributions() -> list[metadata.Distribution]:
    """The installed ``django-sequences`` distributions that are not this project."""
    found = metadata.distributions(name=PUBLISHED_DISTRIBUTION)
    return [dist for dist in found if not is_this_project(dist)]


def is_this_project(dist: metadata.Distribution) -> bool:
    """Whether ``dist`` is this project's own metadata under the old name.

    Two signs, either enough: it is an editable install of the directory that
    holds the running ``sequences`` package; or it lists ``sequences_admin``,
    which no release of the published library has shipped. A file list that
    merely resolves to the running package proves nothing: a published 3.1
    installed over by this project (or under it) lists the same paths.
    """
    editable_dir = editable_directory(dist)
    if editable_dir is not None and (editable_dir / "sequences").resolve() == PACKAGE_DIR:
        return True
    return OWN_ONLY_PACKAGE in top_level_names(dist)


def editable_directory(dist: metadata.Distribution) -> Path | None:
    """The local directory of an editable install (PEP 610 ``direct_url.json``), if any."""
    try:
        direct_url = json.loads(dist.read_text("direct_url.json") or "null")
    except ValueError:
        return None
    if not isinstance(direct_url, dict):
        return None
    dir_info = direct_url.get("dir_info")
    url = urlparse(str(direct_url.get("url", "")))
    if not (isinstance(dir_info, dict) and dir_info.get("editable")) or url.scheme != "file":
        return None
    return Path(unquote(url.path))


def top_level_names(dist: metadata.Distribution) -> set[str]:
    """The top-level packages a distribution declares or lists among its files."""
    names = set((dist.read_text("top_level.txt") or "").split())
    files: Iterable[Any] = dist.files or ()
    names.update(Path(str(file)).parts[0] for file in files if str(file))
    return names


RETRY_RECIPE = "the retry recipe in docs/databases.md, 'Retrying after a serialization failure'"

SETTING_CHECK_IDS = {
    "SEQUENCES_LOCK_TIMEOUT": "sequences.E101",
    "SEQUENCES_REQUIRE_TRANSACTION": "sequences.E102",
    "SEQUENCES_REPORT_UNREPLICATED_COMMITS": "sequences.E103",
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
    "SEQUENCES_REPORT_UNREPLICATED_COMMITS": (
        "Set it to False to stop watching PostgreSQL for cancelled synchronous-replication "
        "waits, or remove it (True)."
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
