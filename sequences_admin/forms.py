"""The reset confirmation form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from sequences.validation import MAX_VALUE


def translated_span(first: int, last: int) -> str:
    """``"7"`` or ``"7 to 42"``: the values from ``first`` to ``last`` inclusive."""
    if first == last:
        return str(first)
    # Translators: a span of values, as in "Values 7 to 42 have already been issued."
    return gettext("%(first)s to %(last)s") % {"first": first, "last": last}


class ResetForm(forms.Form):
    """Set the next value of a sequence; compare-and-set against ``expected_last``.

    ``expected_last`` is the last value that the page showed. Moving the
    sequence back needs ``allow_reuse`` ticked: the form offers the tick box
    only once it has said which values would be issued again.
    """

    next_value = forms.IntegerField(
        label=_("New next value"),
        min_value=1,
        max_value=MAX_VALUE,
        help_text=_("The value that the next get_next_value() call will return."),
    )
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Required. Kept in the audit trail with your username."),
    )
    expected_last = forms.IntegerField(widget=forms.HiddenInput, min_value=0, max_value=MAX_VALUE)
    allow_reuse = forms.BooleanField(
        label=_("I understand that these values will be issued a second time."),
        required=False,
    )

    #: ``(first, last)`` of the values that the reset would issue again, once validated.
    reused: tuple[int, int] | None = None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None
        next_value, expected_last = data.get("next_value"), data.get("expected_last")
        if next_value is None or expected_last is None:
            return data
        if next_value == expected_last + 1:
            raise ValidationError(
                _("The next value already is %(value)s: there is nothing to change."),
                code="unchanged",
                params={"value": next_value},
            )
        if next_value <= expected_last:
            self.reused = (next_value, expected_last)
            if not data.get("allow_reuse"):
                self.add_error(
                    "allow_reuse",
                    ValidationError(
                        _(
                            "Tick this box to confirm that %(values)s will be issued again, "
                            "or choose a next value above %(last)s."
                        ),
                        code="reuse",
                        params={"values": self.reused_values, "last": expected_last},
                    ),
                )
        return data

    @property
    def reused_values(self) -> str:
        return "" if self.reused is None else translated_span(*self.reused)
