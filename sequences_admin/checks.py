"""System checks: ``sequences_admin`` needs ``sequences`` and the Django admin."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig, apps
from django.core import checks

SETUP_HINT = 'INSTALLED_APPS += ["sequences", "sequences_admin"] is all the admin needs'


def check_dependencies(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Report the apps that ``sequences_admin`` needs and that are not installed."""
    errors: list[checks.CheckMessage] = []
    if not apps.is_installed("sequences"):
        errors.append(
            checks.Error(
                "sequences_admin is installed, but the sequences app is not: "
                "there is nothing to show.",
                hint=f"Add 'sequences' to INSTALLED_APPS ({SETUP_HINT}).",
                id="sequences_admin.E001",
            )
        )
    if not apps.is_installed("django.contrib.admin"):
        errors.append(
            checks.Error(
                "sequences_admin is installed, but django.contrib.admin is not: "
                "the sequence pages cannot be shown.",
                hint=(
                    "Add 'django.contrib.admin' to INSTALLED_APPS, with the apps it needs "
                    "(django.contrib.auth, contenttypes, messages and sessions), and include "
                    "admin.site.urls in your URLconf."
                ),
                id="sequences_admin.E002",
            )
        )
    return errors
