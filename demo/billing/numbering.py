"""Which sequence numbers what, and how the numbers are shown.

The database stores plain integers; the formatted references are computed.
"""

from __future__ import annotations

import datetime

from sequences import NumberSeries

#: Customers are numbered from one sequence. A migration seeds it so that the
#: first customer gets ``CUSTOMER_FIRST_NUMBER`` (see migrations/0002).
CUSTOMER_SEQUENCE = "billing.customer"
CUSTOMER_FIRST_NUMBER = 1000

#: Invoices are numbered per calendar year, starting again at 1 each year.
#: The series' sequence names (``billing.invoice.2026``) are the ones the demo
#: used before it had ``NumberSeries``, so an existing database carries on
#: where it stood, with no data migration. Checked with
#: ``manage.py sequence_check billing.Invoice.number --sequence billing.invoice.2026
#: --filter year=2026``.
INVOICES = NumberSeries("billing.invoice", format="INV-{year}-{value:04d}", period="year")


def _year_start(year: int) -> datetime.date:
    if isinstance(year, bool) or not isinstance(year, int) or not 1000 <= year <= 9999:
        raise ValueError(f"year must be an int from 1000 to 9999, got {year!r}")
    return datetime.date(year, 1, 1)


def invoice_sequence(year: int) -> str:
    """The name of the sequence that numbers the invoices of ``year``."""
    return INVOICES.sequence_name(_year_start(year))


def invoice_reference(year: int, number: int) -> str:
    """The reference printed on an invoice: ``INV-2026-0001``."""
    return INVOICES.render(number, _year_start(year))


def customer_reference(number: int) -> str:
    return f"C{number}"
