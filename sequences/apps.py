from __future__ import annotations

from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class SequencesConfig(AppConfig):
    name = "sequences"
    verbose_name = _("Sequences")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .checks import check_databases, check_settings

        checks.register(check_settings)
        # Not tagged "database": it reads settings only, so plain `check` runs it.
        checks.register(check_databases)
