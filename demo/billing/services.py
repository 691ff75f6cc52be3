"""The only code that creates customers and invoices.

Each function takes its number and saves the row in one
``transaction.atomic()`` block: if anything fails after the number was
taken, the rollback gives the number back and the next attempt gets it.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from sequences import assign_next_value, get_next_value

from .models import Customer, Invoice
from .numbering import CUSTOMER_FIRST_NUMBER, CUSTOMER_SEQUENCE, INVOICES


class InvoiceRejected(Exception):
    """The invoice was invalid and nothing was saved.

    ``reference`` is the number the attempt had taken; the rollback gave it
    back, so the next invoice of that year gets it. ``error`` says what was wrong.
    """

    def __init__(self, reference: str, error: ValidationError) -> None:
        self.reference = reference
        self.error = error
        super().__init__(f"{reference} was not created: {'; '.join(error.messages)}")


def create_customer(name: str) -> Customer:
    return save_new_customer(Customer(name=name))


def save_new_customer(customer: Customer) -> Customer:
    """Number an unsaved customer and save it (the admin's add form uses this too)."""
    if customer.pk is not None:
        raise ValueError(f"customer {customer} is already saved and numbered")
    with transaction.atomic():
        # The migration seeds the sequence; initial_value covers a database
        # whose sequences table was emptied after migrating (test flushes).
        customer.number = get_next_value(CUSTOMER_SEQUENCE, initial_value=CUSTOMER_FIRST_NUMBER)
        customer.full_clean()
        customer.save()
    return customer


def create_invoice(
    *,
    customer: Customer,
    amount: Decimal,
    issued_on: datetime.date | None = None,
    description: str = "",
) -> Invoice:
    """Number and save an invoice, or raise :class:`InvoiceRejected` and save nothing.

    The row is saved first and numbered last ("draw last", docs/performance.md):
    the year's sequence is locked only from the draw to the commit, so other
    invoices are not held up by this one's work. The amount is checked *after*
    the number is taken, on purpose: the demo shows that a failure at that
    point consumes no number. That check runs no SQL, so the lock is not held
    any longer for it.
    """
    if issued_on is None:
        issued_on = timezone.localdate()
    with transaction.atomic():
        invoice = Invoice(
            customer=customer,
            year=issued_on.year,
            issued_on=issued_on,
            amount=amount,
            description=description,
        )
        invoice.save()  # without its number: the column is NULL until the end
        # An application's other work on the invoice (its lines, totals, stock
        # moves) goes here, before the draw. Then the number, last: the
        # sequence of the invoice's year, created at 1 on the year's first
        # invoice, drawn and written with one UPDATE.
        assign_next_value(
            invoice, "number", INVOICES.sequence_name(issued_on), INVOICES.initial_value
        )
        try:
            # No SQL: the customer is a saved row (its foreign key is enforced by
            # the database), and (year, number) is unique because the sequence is.
            invoice.full_clean(exclude=["customer", "number"])
        except ValidationError as exc:
            # Raising out of the atomic block rolls back the sequence too.
            raise InvoiceRejected(invoice.reference, exc) from exc
    return invoice
