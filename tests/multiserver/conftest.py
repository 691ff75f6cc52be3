"""Fixtures for the multi-server tests: throwaway servers and Django aliases on them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connections

from . import cluster


@pytest.fixture
def server_root(django_db_blocker: Any) -> Iterator[Path]:
    """A temporary directory for throwaway servers, all stopped and removed afterwards.

    Database access is unblocked: these tests connect to servers of their own,
    not to the test databases that pytest-django manages.
    """
    reason = cluster.missing()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"The multi-server tests must run in CI, but {reason}.")
        pytest.skip(reason)
    root = cluster.make_directory()
    try:
        with django_db_blocker.unblock():
            yield root
    finally:
        for alias in [a for a in connections.settings if a.startswith("multi_")]:
            remove_alias(alias)
        cluster.remove(root)


def add_alias(alias: str, *, host: str, port: str, **options: Any) -> None:
    """Point the Django database alias ``alias`` at a throwaway server."""
    settings = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "postgres",
        "USER": "postgres",
        "HOST": host,
        "PORT": port,
        "OPTIONS": {"connect_timeout": 3, **options},
    }
    configured = connections.configure_settings(
        {"default": connections.settings["default"], alias: settings}
    )
    connections.settings[alias] = configured[alias]


def remove_alias(alias: str) -> None:
    if alias in connections.settings:
        connections[alias].close()
        del connections[alias]
        del connections.settings[alias]


def migrate(alias: str) -> None:
    call_command("migrate", "sequences", database=alias, verbosity=0)
