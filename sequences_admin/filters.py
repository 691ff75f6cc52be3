"""A list filter that takes the sequence name as typed text.

A choice list of every sequence name would not scale to 100,000 sequences.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.contrib.admin.views.main import PAGE_VAR, ChangeList
from django.db.models import Model, QuerySet
from django.http import HttpRequest

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin
from django.utils.translation import gettext_lazy as _


class SequenceNameFilter(admin.ListFilter):
    """Keep the changes of one sequence, named exactly."""

    title = _("sequence")
    parameter_name = "sequence_name"
    template = "sequences_admin/name_filter.html"

    def __init__(
        self,
        request: HttpRequest,
        params: dict[str, Any],
        model: type[Model],
        model_admin: ModelAdmin[Any],
    ) -> None:
        super().__init__(request, params, model, model_admin)
        if self.parameter_name in params:
            # A list of the values given; the last one counts, as in Django's filters.
            self.used_parameters[self.parameter_name] = params.pop(self.parameter_name)[-1]

    def value(self) -> str:
        return str(self.used_parameters.get(self.parameter_name, ""))

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str | None]:
        return [self.parameter_name]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value():
            return queryset.filter(sequence_name=self.value())
        return queryset

    def choices(self, changelist: ChangeList) -> Iterator[dict[str, Any]]:
        keep = [
            (key, value)
            for key, value in changelist.params.items()
            if key not in (self.parameter_name, PAGE_VAR)
        ]
        yield {
            "selected": bool(self.value()),
            "parameter_name": self.parameter_name,
            "value": self.value(),
            "hidden": keep,
            "clear_query_string": changelist.get_query_string(remove=[self.parameter_name]),
        }
