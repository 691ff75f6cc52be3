"""A second admin site for the tests: the sequence admin alone, customised."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.urls import path

from sequences.models import Sequence
from sequences_admin.forms import ResetForm
from sequences_admin.options import SequenceAdmin


class DeletingResetForm(ResetForm):
    """Deletes the sequence while validating: a deletion between page and reset."""

    def clean(self) -> dict[str, Any]:
        Sequence.objects.all().delete()
        return super().clean()


class RacySequenceAdmin(SequenceAdmin):
    reset_form = DeletingResetForm


site = admin.AdminSite(name="sequences_only")
site.register(Sequence, RacySequenceAdmin)

urlpatterns = [path("admin/", admin.site.urls), path("sequences-only/", site.urls)]
