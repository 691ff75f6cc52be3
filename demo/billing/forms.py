from __future__ import annotations

import datetime

from django import forms
from django.utils import timezone

from .models import Customer

#: Dates as the invoice list shows them (ISO 8601).
ISO_DATE = "%Y-%m-%d"


class InvoiceForm(forms.Form):
    """The invoice form.

    It deliberately does not check that the amount is positive: the service
    checks it after taking the invoice number, which is how the demo shows a
    failed attempt that consumes no number.
    """

    customer = forms.ModelChoiceField(queryset=Customer.objects.all(), empty_label=None)
    # Typed as year-month-day, the format the invoice list shows: a native
    # date input would follow the browser's locale (03/01/2026 in a US
    # browser) while the list says 2026-03-01.
    issued_on = forms.DateField(
        initial=timezone.localdate,
        input_formats=[ISO_DATE],
        widget=forms.DateInput(
            format=ISO_DATE,
            attrs={"placeholder": "YYYY-MM-DD", "pattern": r"\d{4}-\d{2}-\d{2}", "size": 10},
        ),
        help_text="Year-month-day, as in the list. Each year has its own sequence: "
        "INV-YYYY-0001, 0002, ...",
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
