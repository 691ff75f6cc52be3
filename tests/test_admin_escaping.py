"""Every string shown is escaped: names, reasons and usernames render as text."""

from __future__ import annotations

import pytest
from django.contrib.admin.utils import quote

from sequences import reset_sequence

from .admin_helpers import RESET, client_for, make_sequence, make_user, url

pytestmark = pytest.mark.django_db

NAME = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
REASON = '<img src=x onerror="alert(2)">'
USERNAME = "<b>mallory</b>"


@pytest.fixture
def client():
    make_sequence(NAME, 42)
    reset_sequence(NAME, 100, expected_last=42, reason=REASON, username=USERNAME)
    return client_for(make_user("resetter", *RESET))


def assert_escaped(html: str) -> None:
    assert "<script>alert(1)" not in html
    assert "<img src=x" not in html
    assert "<b>mallory" not in html


def test_sequence_list_escapes_the_name(client):
    response = client.get(url("sequence_changelist"))

    assert ESCAPED in response.text
    assert_escaped(response.text)


def test_sequence_page_escapes_name_reason_and_username(client):
    response = client.get(url("sequence_change", quote(NAME)))

    assert response.status_code == 200
    assert ESCAPED in response.text
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in response.text
    assert "&lt;b&gt;mallory&lt;/b&gt;" in response.text
    assert_escaped(response.text)


def test_confirmation_page_escapes_the_name(client):
    response = client.get(url("sequence_reset", quote(NAME)))

    assert response.status_code == 200
    assert ESCAPED in response.text
    assert_escaped(response.text)


def test_warning_and_errors_on_the_confirmation_page_escape_what_was_typed(client):
    response = client.post(
        url("sequence_reset", quote(NAME)),
        {"next_value": "<script>alert(3)</script>", "expected_last": 99, "reason": REASON},
    )

    assert response.status_code == 200
    assert "<script>alert(3)" not in response.text
    assert_escaped(response.text)


def test_success_message_and_history_escape_name_and_reason(client):
    response = client.post(
        url("sequence_reset", quote(NAME)),
        {"next_value": 500, "expected_last": 99, "reason": REASON},
        follow=True,
    )
    history = client.get(url("sequence_history", quote(NAME)))

    assert f"Sequence “{ESCAPED}” was reset" in response.text
    assert_escaped(response.text)
    assert "&lt;img src=x" in history.text
    assert_escaped(history.text)


def test_audit_list_escapes_name_reason_and_username(client):
    response = client.get(url("sequencechange_changelist"), {"sequence_name": NAME})

    assert len(response.context["cl"].result_list) == 1
    assert ESCAPED in response.text
    assert_escaped(response.text)


def test_missing_sequence_warning_escapes_the_name(client):
    response = client.get(url("sequence_reset", quote("<i>ghost</i>")), follow=True)

    assert "“&lt;i&gt;ghost&lt;/i&gt;” does not exist" in response.text
    assert "<i>ghost" not in response.text
