from __future__ import annotations

import datetime

from django import forms
from django.utils import timezone

from .models import Customer


class InvoiceForm(forms.Form):
    """The invoice form.

    It deliberately does not check that the amount is positive: the service
    checks it after taking the invoice number, which is how the demo shows a
    failed attempt that consumes no number.
    """

    customer = forms.ModelChoiceField(queryset=Customer.objects.all(), empty_label=None)
    issued_on = forms.DateField(
        initial=timezone.localdate,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Each year has its own sequence: INV-YYYY-0001, 0002, ...",
    )
    amount = forms.DecimalField(
        max_digits=12,
        decimal_places=2,
        help_text="Enter 0 or a negative amount to see a failed attempt.",
    )
    description = forms.CharField(max_length=200, required=False)

    def clean_issued_on(self) -> datetime.date:
        issued_on: datetime.date = self.cleaned_data["issued_on"]
        if issued_on.year < 1000:
            # Invoice numbers carry a four-digit year.
            raise forms.ValidationError("The date must be in the years 1000 to 9999.")
        return issued_on
