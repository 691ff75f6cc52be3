from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_http_methods

from sequences import get_last_value
from sequences.check import check_sequence
from sequences.models import Sequence, SequenceChange

from .forms import InvoiceForm
from .models import Customer, Invoice
from .numbering import CUSTOMER_SEQUENCE, INVOICES, invoice_reference, invoice_sequence
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
    """Every sequence with its last value; the invoice sequences with the gap audit's verdict."""
    rows: list[dict[str, Any]] = []
    for sequence in Sequence.objects.order_by("name"):
        row: dict[str, Any] = {"sequence": sequence, "next": sequence.last + 1, "check": ""}
        if sequence.name == CUSTOMER_SEQUENCE:
            row["check"] = count_of(Customer.objects.count(), "customer")
        period = INVOICES.split_sequence_name(sequence.name)
        if period is not None and period[0] is not None:
            row.update(_invoice_verdict(sequence.name, int(period[0])))
        rows.append(row)
    changes = SequenceChange.objects.all()[:20]
    return render(request, "billing/sequences.html", {"rows": rows, "changes": changes})


def _invoice_verdict(name: str, year: int) -> dict[str, Any]:
    """What ``manage.py sequence_check billing.Invoice.number --sequence NAME
    --filter year=YEAR --start 1`` says, in one line, plus the audited changes
    that explain skipped numbers."""
    report = check_sequence(
        Invoice, "number", name, start=INVOICES.initial_value, filters={"year": str(year)}
    )
    (found,) = report.sequences

    def ref(number: int) -> str:
        return invoice_reference(year, number)

    def refs(spans: list[tuple[int, int]], truncated: bool) -> str:
        text = ", ".join(ref(a) if a == b else f"{ref(a)} to {ref(b)}" for a, b in spans)
        return text + (", ..." if truncated else "")

    summary = count_of(found.documents, "invoice")
    if found.documents:
        summary += f", {ref(INVOICES.initial_value)} to {ref(found.highest or 0)}"
    if report.clean:
        check = f"{summary}: no gaps"
    else:
        problems = []
        if found.missing_count:
            problems.append(
                f"{found.missing_count} missing: "
                + refs(found.missing_ranges, found.missing_truncated)
            )
        if found.duplicate_count:
            problems.append(
                f"{found.duplicate_count} numbered twice: "
                + ", ".join(ref(value) for value, _ in found.duplicates)
            )
        if found.ahead_count:
            problems.append(
                f"{found.ahead_count} ahead of the sequence (the next invoices would "
                "repeat them): " + ", ".join(ref(value) for value in found.ahead_values)
            )
        check = f"{summary}: MISMATCH: " + "; ".join(problems)
    explained = [
        {
            "numbers": refs([(item.first, item.last)], False),
            "count": item.missing,
            "change": item.change,
            "url": _change_url(item.change),
        }
        for item in found.explained
        if item.missing
    ]
    return {"check": check, "clean": report.clean, "explained": explained}


def _change_url(change: SequenceChange) -> str:
    """The audit record in the admin, or on this page when the admin does not show it."""
    opts = SequenceChange._meta
    try:
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[change.pk])
    except NoReverseMatch:
        return f"#change-{change.pk}"


def count_of(number: int, noun: str) -> str:
    """``"1 invoice"``, ``"2 invoices"``: the demo's pages are in English only."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
