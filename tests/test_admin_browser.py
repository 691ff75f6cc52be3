"""The admin in a real Chromium, driven by Playwright, against a live server.

Needs the ``playwright`` package and Debian's Chromium at /usr/bin/chromium
(Playwright's own browser download is not used). Without them the test is
skipped on a developer's machine and fails in CI (``CI=true``).

It saves screenshots at 1280×800 in ``artifacts/screenshots/``; the
``docs/admin-*.png`` images are copies of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sequences import reset_sequence
from sequences.models import Sequence, SequenceChange

from .admin_helpers import PASSWORD, RESET, VIEW, make_sequence, make_user

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"

#: A common laptop screen: every page must fit its width (docs/*.png are taken at it).
VIEWPORT = {"width": 1280, "height": 800}

#: How far each element scrolls sideways: scrollWidth - clientWidth (0 when it fits).
OVERFLOW = """() => Object.fromEntries(
    [["document", document.documentElement], ["results", document.querySelector(".results")],
     ["changelist", document.querySelector("#changelist")]]
    .map(([name, element]) => [name, element.scrollWidth - element.clientWidth]))"""


def log_in(browser: Any, live_server: Any, username: str) -> Any:
    page = browser.new_context(viewport=VIEWPORT).new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/admin/login/?next=/admin/sequences/sequence/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/sequences/sequence/")
    return page


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def test_a_clerk_sees_no_reset_button_and_an_accountant_resets_through_the_confirmation_page(
    browser, live_server, monkeypatch
):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    make_sequence("invoices", 1041)
    make_sequence("orders-2026", 7)
    reset_sequence("credit-notes", 13, expected_last=None, reason="Opening balance", action="init")
    make_user("clerk", *VIEW, password=PASSWORD)
    make_user("accountant", *RESET, password=PASSWORD)

    clerk = log_in(browser, live_server, "clerk")
    assert clerk.locator("#result_list tbody tr").count() == 3
    screenshot(clerk, "admin-list.png")
    clerk.click("text=invoices")
    clerk.wait_for_selector("#sequence-recent-changes")
    assert clerk.locator("#sequence-reset-link").count() == 0
    assert clerk.locator(".field-last .readonly").inner_text() == "1041"

    accountant = log_in(browser, live_server, "accountant")
    accountant.click("text=invoices")
    accountant.click("#sequence-reset-link")
    accountant.wait_for_selector("#sequence_reset_form")
    assert accountant.inner_text("#sequence-current-last") == "1041"
    assert accountant.inner_text("#sequence-current-next") == "1042"
    accountant.fill("#id_next_value", "1001")
    accountant.fill("#id_reason", "Invoices 1001 to 1041 were test documents, voided by audit.")
    screenshot(accountant, "admin-reset.png")

    accountant.click("input[name=_reset]")
    accountant.wait_for_selector("#sequence-reuse-warning")
    warning = accountant.inner_text("#sequence-reuse-warning")
    assert "Values 1001 to 1041 have already been issued" in warning
    assert Sequence.objects.get(name="invoices").last == 1041
    screenshot(accountant, "admin-reset-warning.png")

    accountant.check("#id_allow_reuse")
    accountant.click("input[name=_reset]")
    accountant.wait_for_selector(".messagelist .success")
    assert "its next value is 1001" in accountant.inner_text(".messagelist .success")
    assert accountant.locator(".field-last .readonly").inner_text() == "1000"
    assert "voided by audit" in accountant.inner_text("#sequence-recent-changes")
    screenshot(accountant, "admin-sequence.png")

    accountant.click("#sequence-all-changes")
    accountant.wait_for_selector("#result_list")
    rows = accountant.locator("#result_list tbody tr")
    assert rows.count() == 1
    assert "accountant" in rows.first.inner_text()
    assert "Invoices 1001 to 1041 were test" in rows.first.inner_text()
    accountant.goto(f"{live_server.url}/admin/sequences/sequencechange/")
    accountant.wait_for_selector("#result_list")
    screenshot(accountant, "admin-audit.png")
    # Every column (source, username, reason included) is on screen at 1280 px.
    assert accountant.evaluate(OVERFLOW) == {"document": 0, "results": 0, "changelist": 0}
    headers = accountant.locator("#result_list thead th").all_inner_texts()
    assert [header.strip().lower() for header in headers] == [
        "time",
        "sequence",
        "action",
        "last value",
        "source",
        "username",
        "reason",
    ]

    accountant.click("#result_list tbody tr a")
    accountant.wait_for_selector(".field-last_before")
    assert accountant.inner_text(".field-last_before .readonly") == "1041"
    assert accountant.locator(".field-last_before .help").count() == 0
    assert "values already issued are issued again" in accountant.inner_text(".field-allow_reuse")
    screenshot(accountant, "admin-audit-record.png")

    change = SequenceChange.objects.get(sequence_name="invoices")
    assert (change.source, change.username, change.allow_reuse) == ("admin", "accountant", True)
    assert (change.last_before, change.last_after) == (1041, 1000)
