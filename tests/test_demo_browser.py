"""The demo in a real browser: Playwright driving Debian's Chromium against live_server.

Needs ``pip install playwright`` (the ``test`` extra) and ``apt-get install
chromium``; Playwright's own browser download is not used. Without them the
test is skipped locally and fails under ``CI=true``. ``DEMO_SCREENSHOT=path``
saves a screenshot of the invoice list (docs/demo.png was made that way).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from demo.billing.numbering import invoice_reference, invoice_sequence
from demo.billing.services import create_customer

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; the browser test is required under CI=true")
    pytest.skip(reason)


@pytest.fixture
def page(live_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A Chromium page; it closes before the live server stops (it depends on it)."""
    # Playwright's sync API runs an event loop in this thread; Django refuses
    # database access from a thread with a running loop unless told it is safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install playwright)")
    if not Path(CHROMIUM).exists():
        unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1100, "height": 640})
            yield context.new_page()
        finally:
            browser.close()
            # Connections the test opened while Playwright ran belong to its
            # context; close them here, or dropping the test database finds
            # them still connected.
            connections.close_all()


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
