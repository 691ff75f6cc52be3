from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models

from .numbering import customer_reference, invoice_reference


class Customer(models.Model):
    """A customer; ``number`` comes from the ``billing.customer`` sequence."""

    number = models.PositiveIntegerField(unique=True, editable=False)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["number"]

    def __str__(self) -> str:
        return f"{customer_reference(self.number)} {self.name}"

    @property
    def reference(self) -> str:
        return customer_reference(self.number)


class Invoice(models.Model):
    """An invoice numbered without gaps within its year.

    ``(year, number)`` is stored as two integers; ``reference`` formats them.
    ``number`` is nullable only because the row is saved first and numbered
    last, in the same transaction (``services.create_invoice``): a committed
    invoice always has its number.
    """

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="invoices")
    year = models.PositiveSmallIntegerField(editable=False)
    number = models.PositiveIntegerField(null=True, editable=False)
    issued_on = models.DateField()
    amount = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"), "The amount must be positive.")],
    )
    description = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-year", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["year", "number"], name="billing_invoice_unique_number"
            )
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def reference(self) -> str:
        if self.number is None:
            return "(not numbered yet)"
        return invoice_reference(self.year, self.number)
