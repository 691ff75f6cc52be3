from __future__ import annotations

from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class SequencesAdminConfig(AppConfig):
    name = "sequences_admin"
    verbose_name = _("Sequences admin")

    def ready(self) -> None:
        from .checks import check_dependencies

        checks.register(check_dependencies, checks.Tags.admin)
