"""The demo in a real browser: Playwright driving Debian's Chromium against live_server.

Needs ``pip install playwright`` (the ``test`` extra) and ``apt-get install
chromium``; Playwright's own browser download is not used. Without them the
test is skipped locally and fails under ``CI=true`` (the ``browser`` fixture in
conftest.py). ``DEMO_SCREENSHOT=path``
saves a screenshot of the invoice list (docs/demo.png was made that way).
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from demo.billing.numbering import invoice_reference, invoice_sequence
from demo.billing.services import create_customer


@pytest.fixture
def page(browser: Any, live_server: Any) -> Any:
    """A Chromium page; it closes before the live server stops (it depends on it)."""
    return browser.new_context(viewport={"width": 1100, "height": 640}).new_page()


def submit_invoice(page: Any, base: str, amount: str, description: str) -> None:
    page.goto(base + reverse("billing:invoice-create"))
    page.fill("#id_amount", amount)
    page.fill("#id_description", description)
    with page.expect_navigation():
        page.click("button[type=submit]")


@pytest.mark.browser
def test_invoices_made_in_the_browser_are_contiguous_and_the_admin_shows_the_sequence(
    page, live_server, django_user_model
):
    create_customer("Ada Lovelace Ltd")
    django_user_model.objects.create_superuser("admin", password="browser-test")
    year = timezone.localdate().year
    base = live_server.url

    submit_invoice(page, base, "1200.00", "Consulting")
    submit_invoice(page, base, "349.90", "Support")
    submit_invoice(page, base, "0", "A failed attempt")
    failure = page.text_content(".messages .error")
    submit_invoice(page, base, "75.00", "Training")

    assert f"The attempt took {invoice_reference(year, 3)}" in failure
    assert page.url == base + reverse("billing:invoice-list")
    shown = page.locator("#invoices td.reference").all_text_contents()
    assert sorted(shown) == [invoice_reference(year, n) for n in (1, 2, 3)]
    if os.environ.get("DEMO_SCREENSHOT"):
        page.screenshot(path=os.environ["DEMO_SCREENSHOT"], full_page=True)

    page.goto(base + "/admin/login/?next=/admin/sequences/sequence/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "browser-test")
    with page.expect_navigation():
        page.click("input[type=submit]")
    row = page.locator("#result_list tr", has_text=invoice_sequence(year))
    assert row.locator("td.field-last").text_content() == "3"
    assert row.locator("td.field-next_value").text_content() == "4"
