"""Which sequence numbers what, and how the numbers are shown.

The database stores plain integers; the formatted references are computed.
"""

from __future__ import annotations

#: Customers are numbered from one sequence. A migration seeds it so that the
#: first customer gets ``CUSTOMER_FIRST_NUMBER`` (see migrations/0002).
CUSTOMER_SEQUENCE = "billing.customer"
CUSTOMER_FIRST_NUMBER = 1000

#: Invoices are numbered per calendar year, starting again at 1 each year.
INVOICE_SEQUENCE_PREFIX = "billing.invoice."


def invoice_sequence(year: int) -> str:
    """The name of the sequence that numbers the invoices of ``year``."""
    if isinstance(year, bool) or not isinstance(year, int) or not 1 <= year <= 9999:
        raise ValueError(f"year must be an int from 1 to 9999, got {year!r}")
    return f"{INVOICE_SEQUENCE_PREFIX}{year}"


def invoice_reference(year: int, number: int) -> str:
    """The reference printed on an invoice: ``INV-2026-0001``."""
    return f"INV-{year:04d}-{number:04d}"


def customer_reference(number: int) -> str:
    return f"C{number}"
