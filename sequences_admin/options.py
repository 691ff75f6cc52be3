"""The ModelAdmins: sequences and their audit trail, read-only; one reset view.

``register(site)`` puts both on an admin site; ``sequences_admin.admin`` does
it for Django's default site.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.templatetags.admin_urls import admin_urlname
from django.contrib.admin.utils import quote, unquote
from django.contrib.auth import get_permission_codename
from django.db import router
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import dateformat, formats, timezone
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from sequences import SequenceLocked, SequenceValueChanged, reset_sequence
from sequences.api import atomic_with_timeout
from sequences.models import Sequence, SequenceChange
from sequences.validation import MAX_VALUE, visible_name

from .filters import SequenceNameFilter
from .forms import ResetForm

if TYPE_CHECKING:
    _SequenceAdminBase = admin.ModelAdmin[Sequence]
    _SequenceChangeAdminBase = admin.ModelAdmin[SequenceChange]
else:  # ModelAdmin is generic only in django-stubs
    _SequenceAdminBase = _SequenceChangeAdminBase = admin.ModelAdmin

#: How many audit records the sequence page shows.
RECENT_CHANGES = 10

#: How much of a reason the audit list shows (the record's page shows it all).
REASON_CHARS = 40

#: How long a reset waits for a transaction that holds the sequence, in seconds,
#: before the page says the sequence is in use (instead of hanging).
RESET_TIMEOUT = 3.0


class ReadOnlyAdminMixin:
    """Nobody adds, changes or deletes through the admin: not even superusers."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class SequenceAdmin(ReadOnlyAdminMixin, _SequenceAdminBase):
    """The state of every sequence, and a reset view for those allowed to reset."""

    actions = None
    list_display = ("shown_name", "last", "next_value", "last_change")
    search_fields = ("name",)
    ordering = ("name",)
    list_per_page = 100
    fields = ("shown_name", "last", "next_value", "last_change")
    readonly_fields = fields
    change_form_template = "sequences_admin/sequence_change_form.html"
    reset_template = "sequences_admin/reset.html"
    refused_template = "sequences_admin/refused.html"
    reset_form = ResetForm
    reset_timeout: float = RESET_TIMEOUT

    def get_queryset(self, request: HttpRequest) -> QuerySet[Sequence]:
        # One subquery per row shown, in the same statement: the list takes
        # a constant number of queries, however many sequences there are.
        latest = (
            SequenceChange.objects.filter(sequence_name=OuterRef("name"))
            .order_by("-created_at", "-id")
            .values("created_at")[:1]
        )
        return super().get_queryset(request).annotate(last_change=Subquery(latest))

    @admin.display(description=_("name"), ordering="name")
    def shown_name(self, obj: Sequence) -> str:
        # A name made of spaces would show as nothing, or as the admin's "-"
        # for a missing value: such names are quoted (see visible_name).
        return visible_name(obj.name)

    @admin.display(description=_("next value"), ordering="last")
    def next_value(self, obj: Sequence) -> int | None:
        return obj.last + 1 if obj.last < MAX_VALUE else None

    @admin.display(description=_("last audited change"), ordering="last_change")
    def last_change(self, obj: Sequence) -> str:
        # Formatted here: read-only fields show callables' values as plain
        # text, and None as "None"; the list and the page both show "-".
        when = getattr(obj, "last_change", None)
        if when is None:
            return self.get_empty_value_display()
        return formats.localize(timezone.localtime(when))

    @property
    def reset_permission(self) -> str:
        """The permission that a reset needs, for ``has_perm``: ``"sequences.reset_sequence"``."""
        return f"{self.opts.app_label}.{get_permission_codename('reset', self.opts)}"

    def has_reset_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(self.reset_permission)

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        reset = path(
            "<path:object_id>/reset/",
            self.admin_site.admin_view(self.reset_view),
            name="{}_{}_reset".format(*info),
        )
        return [reset, *super().get_urls()]

    def _url(self, name: str, *args: Any) -> str:
        return reverse(
            # "admin:<label>_<model>_<name>": the instance is picked by current_app.
            admin_urlname(self.opts, mark_safe(name)),
            args=args,
            current_app=self.admin_site.name,
        )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        name = unquote(object_id)
        context: dict[str, Any] = {
            "can_reset": self.has_reset_permission(request),
            "reset_url": self._url("reset", quote(name)),
            "recent_changes": None,
        }
        if request.user.has_perm(f"{SequenceChange._meta.app_label}.view_sequencechange"):
            context["recent_changes"] = list(
                SequenceChange.objects.filter(sequence_name=name)[:RECENT_CHANGES]
            )
            if self.admin_site.is_registered(SequenceChange):
                changelist = reverse(
                    admin_urlname(SequenceChange._meta, mark_safe("changelist")),
                    current_app=self.admin_site.name,
                )
                context["changes_url"] = changelist + "?" + _query(name)
        context.update(extra_context or {})
        return super().change_view(request, object_id, form_url, context)

    def reset_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Confirm, then reset: compare-and-set against the value the page showed."""
        if not self.has_reset_permission(request):
            return self._refused(request)
        name = unquote(object_id)
        alias = router.db_for_write(Sequence)
        sequence = Sequence.objects.using(alias).filter(name=name).first()
        if sequence is None:
            return self._gone(request, name)

        conflict = None
        if request.method == "POST":
            form = self.reset_form(request.POST)
            if form.is_valid():
                try:
                    with atomic_with_timeout(name, alias, self.reset_timeout):
                        change = reset_sequence(
                            name,
                            form.cleaned_data["next_value"],
                            expected_last=form.cleaned_data["expected_last"],
                            reason=form.cleaned_data["reason"],
                            allow_reuse=form.cleaned_data["allow_reuse"],
                            user=request.user,
                            source=SequenceChange.Source.ADMIN,
                            timeout=self.reset_timeout,
                            using=alias,
                        )
                        assert change.last_after is not None
                        sequence.last = change.last_after
                        self.log_change(request, sequence, _log_message(change))
                except SequenceLocked:
                    # Nothing changed; the form keeps what was typed.
                    self.message_user(
                        request,
                        gettext(
                            "Sequence “%(name)s” was not reset: the sequence is in use, try again."
                        )
                        % {"name": name},
                        messages.ERROR,
                    )
                except SequenceValueChanged as exc:
                    if exc.actual_last is None:
                        return self._gone(request, name)
                    conflict = exc
                    # Show the fresh state and ask again; never apply it blindly.
                    sequence.last = exc.actual_last
                    data = request.POST.copy()
                    data["expected_last"] = str(exc.actual_last)
                    form = self.reset_form(data)
                    form.is_valid()
                else:
                    self.message_user(
                        request,
                        gettext("Sequence “%(name)s” was reset: its next value is %(next)s.")
                        % {"name": name, "next": change.last_after + 1},
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(self._url("change", quote(name)))
        else:
            form = self.reset_form(
                initial={"next_value": sequence.last + 1, "expected_last": sequence.last}
            )

        fields = ["next_value", "reason", "expected_last"]
        if form.reused is not None or (form.is_bound and form.data.get("allow_reuse")):
            fields.append("allow_reuse")
        # The admin's helpers take any form; django-stubs says ModelForm.
        admin_form = helpers.AdminForm(
            form,  # type: ignore[arg-type]
            [(_("New state"), {"fields": fields})],
            {},
            model_admin=self,
        )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Reset sequence “%(name)s”") % {"name": name},
            "subtitle": None,
            "opts": self.opts,
            "sequence": sequence,
            "next_value": self.next_value(sequence),
            "form": form,
            "adminform": admin_form,
            "errors": helpers.AdminErrorList(form, []),  # type: ignore[arg-type]
            "conflict": conflict,
            "change_url": self._url("change", quote(name)),
            "has_view_permission": self.has_view_permission(request),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.reset_template, context)

    def _refused(self, request: HttpRequest) -> HttpResponse:
        """403, inside the admin, naming the permission that is missing."""
        codename = self.reset_permission.partition(".")[2]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Permission needed"),
            "subtitle": None,
            "opts": self.opts,
            "permission": self.reset_permission,
            "permission_name": dict(self.opts.permissions).get(codename, codename),
            "has_view_permission": self.has_view_permission(request),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.refused_template, context, status=403)

    def _gone(self, request: HttpRequest, name: str) -> HttpResponse:
        self.message_user(
            request,
            gettext("Sequence “%(name)s” does not exist (any more): nothing was changed.")
            % {"name": name},
            messages.WARNING,
        )
        return HttpResponseRedirect(self._url("changelist"))


class SequenceChangeAdmin(ReadOnlyAdminMixin, _SequenceChangeAdminBase):
    """The audit trail: every change that did not come from get_next_value."""

    actions = None
    # What an auditor reads, fitting 1280 px beside the admin's navigation
    # and the filters: when, which sequence, what happened (a reuse said in
    # words), by what and whom, and why. The user id and the database alias
    # are on the record's page.
    list_display = (
        "time",
        "shown_sequence_name",
        "action_done",
        "last_values",
        "source",
        "username",
        "short_reason",
    )
    list_filter = (SequenceNameFilter, "source", "action", "allow_reuse", "created_at")
    search_fields = ("sequence_name", "username", "reason")
    list_per_page = 100
    fields = (
        "created_at",
        "sequence_name",
        "database",
        "action",
        "last_before",
        "last_after",
        "allow_reuse",
        "reason",
        "source",
        "user_id",
        "username",
    )
    readonly_fields = fields

    def get_form(
        self,
        request: HttpRequest,
        obj: SequenceChange | None = None,
        change: bool = False,
        **kwargs: Any,
    ) -> Any:
        # The model's help texts describe every possible value ("Empty: did
        # not exist.") and read as contradictions beside the value shown: each
        # record gets help texts about its own values, or none.
        if obj is not None:
            kwargs["help_texts"] = {**_record_help_texts(obj), **kwargs.get("help_texts", {})}
        return super().get_form(request, obj, change, **kwargs)

    @admin.display(description=_("time"), ordering="created_at")
    def time(self, obj: SequenceChange) -> str:
        # ISO date and local time to the minute: short enough to leave the
        # reason room at 1280 px; the record's page shows the full time.
        return dateformat.format(timezone.localtime(obj.created_at), "Y-m-d H:i")

    @admin.display(description=_("sequence"), ordering="sequence_name")
    def shown_sequence_name(self, obj: SequenceChange) -> str:
        return visible_name(obj.sequence_name)

    @admin.display(description=_("action"), ordering="action")
    def action_done(self, obj: SequenceChange) -> str:
        if obj.allow_reuse:
            return f"{obj.get_action_display()} ({gettext('values issued again')})"
        return str(obj.get_action_display())

    # Translators: the audit list's column of "before → after" values, e.g. "42 → 99".
    @admin.display(description=_("last value"))
    def last_values(self, obj: SequenceChange) -> str:
        def show(value: int | None) -> str:
            return "-" if value is None else str(value)

        return f"{show(obj.last_before)} → {show(obj.last_after)}"

    @admin.display(description=_("reason"))
    def short_reason(self, obj: SequenceChange) -> str:
        return Truncator(obj.reason).chars(REASON_CHARS)


def _record_help_texts(change: SequenceChange) -> dict[str, str]:
    """Help texts for the fields of one audit record's page, describing the values it shows."""
    texts: dict[str, str] = {
        "last_before": "",
        "last_after": "",
        "allow_reuse": gettext("No values issued again."),
    }
    if change.last_before is None:
        texts["last_before"] = gettext("The sequence did not exist before this change.")
    if change.last_after is None:
        texts["last_after"] = gettext("This change deleted the sequence.")
    if change.allow_reuse:
        texts["allow_reuse"] = gettext(
            "This change moved the sequence back: values already issued are issued again."
        )
    return texts


def _query(name: str) -> str:
    return urlencode({SequenceNameFilter.parameter_name: name})


def _log_message(change: SequenceChange) -> str:
    """The History page's text for a reset done in the admin."""
    assert change.last_after is not None
    before = "-" if change.last_before is None else str(change.last_before + 1)
    return gettext("Reset: next value %(next)s (was %(before)s)%(reuse)s. Reason: %(reason)s") % {
        "next": change.last_after + 1,
        "before": before,
        "reuse": gettext(", values issued again") if change.allow_reuse else "",
        "reason": change.reason,
    }


def register(site: admin.AdminSite) -> None:
    """Register the read-only sequence admin and the audit trail on ``site``.

    A plain ``Sequence`` admin registered earlier (for example by a project
    that copied the old editable one) is replaced.
    """
    if site.is_registered(Sequence):
        site.unregister(Sequence)
    site.register(Sequence, SequenceAdmin)
    if not site.is_registered(SequenceChange):
        site.register(SequenceChange, SequenceChangeAdmin)
