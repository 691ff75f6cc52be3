from __future__ import annotations

from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class SequencesConfig(AppConfig):
    name = "sequences"
    verbose_name = _("Sequences")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .checks import check_databases, check_published_distribution, check_settings
        from .collation import check_name_collation
        from .relabelling import check_tables_left_behind

        checks.register(check_published_distribution, checks.Tags.compatibility)
        checks.register(check_settings)
        # Not tagged "database": it reads settings only, so plain `check` runs it.
        checks.register(check_databases)
        # Database checks: run by "check --database ALIAS" and by migrate
        # (the relabelling one before migrate would create the new label's empty tables).
        checks.register(check_tables_left_behind, checks.Tags.database)
        checks.register(check_name_collation, checks.Tags.database)
