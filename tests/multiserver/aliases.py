"""Django database aliases pointed at throwaway servers, added and removed at run time."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.db import connections


def add_alias(
    alias: str,
    *,
    host: str,
    port: str,
    engine: str = "django.db.backends.postgresql",
    name: str = "postgres",
    user: str = "postgres",
    **options: Any,
) -> None:
    """Point the Django database alias ``alias`` at a throwaway server."""
    settings = {
        "ENGINE": engine,
        "NAME": name,
        "USER": user,
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
