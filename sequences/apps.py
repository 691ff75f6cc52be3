from __future__ import annotations

from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class SequencesConfig(AppConfig):
    name = "sequences"
    verbose_name = _("Sequences")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .checks import check_name_collation

        # A database check: run by "check --database ALIAS" and by migrate.
        checks.register(check_name_collation, checks.Tags.database)
