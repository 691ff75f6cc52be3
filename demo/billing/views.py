from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count, Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from sequences import get_last_value
from sequences.models import Sequence, SequenceChange

from .forms import InvoiceForm
from .models import Customer, Invoice
from .numbering import CUSTOMER_SEQUENCE, invoice_reference, invoice_sequence
from .services import InvoiceRejected, create_invoice


def invoice_list(request: HttpRequest) -> HttpResponse:
    invoices = Invoice.objects.select_related("customer")
    return render(request, "billing/invoice_list.html", {"invoices": invoices})


@require_http_methods(["GET", "POST"])
def invoice_create(request: HttpRequest) -> HttpResponse:
    form = InvoiceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        issued_on = form.cleaned_data["issued_on"]
        try:
            invoice = create_invoice(
                customer=form.cleaned_data["customer"],
                amount=form.cleaned_data["amount"],
                issued_on=issued_on,
                description=form.cleaned_data["description"],
            )
        except InvoiceRejected as rejected:
            for field, errors in rejected.error.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
            last = get_last_value(invoice_sequence(issued_on.year))
            messages.error(
                request,
                f"Not created. The attempt took {rejected.reference}, and rolling back "
                f"gave it back: the sequence's last value is still "
                f"{'(none)' if last is None else last}, so the next invoice of "
                f"{issued_on.year} gets {rejected.reference}.",
            )
        else:
            messages.success(request, f"Created {invoice.reference} for {invoice.customer}.")
            return redirect("billing:invoice-list")
    return render(request, "billing/invoice_form.html", {"form": form})


def sequence_state(request: HttpRequest) -> HttpResponse:
    """Every sequence with its last value, checked against the rows it numbered."""
    years = {
        row["year"]: row
        for row in Invoice.objects.values("year").annotate(count=Count("id"), top=Max("number"))
    }
    rows: list[dict[str, Any]] = []
    for sequence in Sequence.objects.order_by("name"):
        row: dict[str, Any] = {"sequence": sequence, "next": sequence.last + 1, "check": ""}
        if sequence.name == CUSTOMER_SEQUENCE:
            row["check"] = f"{Customer.objects.count()} customers"
        for year, stats in years.items():
            if sequence.name == invoice_sequence(year):
                gapless = stats["count"] == stats["top"] == sequence.last
                row["check"] = (
                    f"{stats['count']} invoices, "
                    f"{invoice_reference(year, 1)} to {invoice_reference(year, stats['top'])}: "
                    + ("no gaps" if gapless else "MISMATCH")
                )
        rows.append(row)
    changes = SequenceChange.objects.all()[:20]
    return render(request, "billing/sequences.html", {"rows": rows, "changes": changes})
