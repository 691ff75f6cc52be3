"""The reset flow: permission, confirmation page, compare-and-set, guard, audit."""

from __future__ import annotations

import re

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.messages import get_messages

from sequences import get_next_value
from sequences.models import Sequence, SequenceChange

from .admin_helpers import LABEL, RESET, VIEW, client_for, make_sequence, make_user, url


def reset_url(name: str = "invoices") -> str:
    return url("sequence_reset", name)


def last_of(name: str = "invoices") -> int | None:
    return Sequence.objects.filter(name=name).values_list("last", flat=True).first()


def post_reset(client, next_value, *, expected_last=42, reason="year end", **extra):
    data = {"next_value": next_value, "expected_last": expected_last, "reason": reason, **extra}
    return client.post(reset_url(), data)


@pytest.fixture
def invoices(in_transaction):
    return make_sequence("invoices", 42)


@pytest.fixture
def resetter(in_transaction):
    return make_user("resetter", *RESET)


@pytest.fixture
def superuser(in_transaction):
    return make_user("boss", superuser=True)


# Who may open the page


def test_anonymous_is_sent_to_the_login_page_and_nothing_changes(client, invoices):
    response = client.post(reset_url(), {"next_value": 100, "expected_last": 42, "reason": "x"})

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert last_of() == 42


def test_reset_page_answers_403_to_a_view_only_user(invoices):
    client = client_for(make_user("viewer", *VIEW))

    assert client.get(reset_url()).status_code == 403
    assert post_reset(client, 100).status_code == 403
    assert last_of() == 42
    assert not SequenceChange.objects.exists()


def test_refusal_is_an_admin_page_naming_the_missing_permission(invoices):
    response = client_for(make_user("viewer", *VIEW)).get(reset_url())

    assert response.status_code == 403
    assert response.templates[0].name == "sequences_admin/refused.html"
    assert f"{LABEL}.reset_sequence" in response.text
    assert "Can reset sequence" in response.text
    assert 'id="user-tools"' in response.text  # inside the admin, not a bare page


def test_reset_page_answers_403_to_staff_with_the_change_permission_only(invoices):
    client = client_for(make_user("editor", f"{LABEL}.view_sequence", f"{LABEL}.change_sequence"))

    assert post_reset(client, 100).status_code == 403
    assert last_of() == 42


@pytest.mark.parametrize("who", ["resetter", "superuser"])
def test_confirmation_page_shows_current_last_and_next_value(request, who, invoices):
    client = client_for(request.getfixturevalue(who))

    response = client.get(reset_url())

    assert response.status_code == 200
    assert '<div class="readonly" id="sequence-current-last">42</div>' in response.text
    assert '<div class="readonly" id="sequence-current-next">43</div>' in response.text
    assert '<input type="hidden" name="expected_last" value="42"' in response.text
    assert 'name="next_value" value="43"' in response.text
    assert 'name="reason"' in response.text
    assert 'method="post"' in response.text
    assert 'name="csrfmiddlewaretoken"' in response.text


def test_confirmation_page_does_not_offer_the_reuse_tick_box_before_it_is_needed(
    resetter, invoices
):
    response = client_for(resetter).get(reset_url())

    assert 'name="allow_reuse"' not in response.text


def test_reset_page_of_a_missing_sequence_redirects_to_the_list_with_a_warning(resetter):
    response = client_for(resetter).get(reset_url("ghost"))

    assert response.status_code == 302
    assert response["Location"] == url("sequence_changelist")
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Sequence “ghost” does not exist (any more): nothing was changed."
    ]


def test_get_with_values_in_the_query_string_changes_nothing(resetter, invoices):
    response = client_for(resetter).get(
        reset_url(), {"next_value": "100", "expected_last": "42", "reason": "sneaky"}
    )

    assert response.status_code == 200
    assert last_of() == 42
    assert not SequenceChange.objects.exists()


# A successful reset


def test_reset_moves_the_sequence_and_shows_the_new_state(resetter, invoices):
    client = client_for(resetter)

    response = post_reset(client, 1000)

    assert response.status_code == 302
    assert response["Location"] == url("sequence_change", "invoices")
    assert last_of() == 999
    page = client.get(response["Location"])
    assert "Sequence “invoices” was reset: its next value is 1000." in page.text
    assert '<div class="readonly">999</div>' in page.text
    assert '<div class="readonly">1000</div>' in page.text
    assert get_next_value("invoices") == 1000


def test_reset_writes_one_audit_record_with_source_admin_and_the_user(resetter, invoices):
    post_reset(client_for(resetter), 1000, reason="Opening balance for 2027")

    change = SequenceChange.objects.get()
    assert change.sequence_name == "invoices"
    assert change.database == "default"
    assert change.action == SequenceChange.Action.RESET
    assert change.source == SequenceChange.Source.ADMIN
    assert (change.last_before, change.last_after) == (42, 999)
    assert change.allow_reuse is False
    assert change.reason == "Opening balance for 2027"
    assert change.user_id == str(resetter.pk)
    assert change.username == "resetter"


def test_reset_is_on_the_history_page_as_a_log_entry(resetter, invoices):
    client = client_for(resetter)
    post_reset(client, 1000, reason="Opening balance for 2027")

    entry = LogEntry.objects.get()
    history = client.get(url("sequence_history", "invoices"))

    assert entry.action_flag == CHANGE
    assert entry.user_id == resetter.pk
    assert entry.object_id == "invoices"
    assert entry.content_type is not None
    assert entry.content_type.model_class() is Sequence
    assert entry.get_change_message() == (
        "Reset: next value 1000 (was 43). Reason: Opening balance for 2027"
    )
    assert "Reset: next value 1000 (was 43). Reason: Opening balance for 2027" in history.text


def test_superuser_can_reset(superuser, invoices):
    response = post_reset(client_for(superuser), 50)

    assert response.status_code == 302
    assert last_of() == 49
    assert SequenceChange.objects.get().username == "boss"


# Refusals


def test_reason_is_required_and_nothing_changes_without_it(resetter, invoices):
    response = post_reset(client_for(resetter), 1000, reason="   ")

    assert response.status_code == 200
    assert response.context["form"].errors["reason"] == ["This field is required."]
    assert "Please correct the error below." in response.text
    assert last_of() == 42
    assert not SequenceChange.objects.exists()
    assert not LogEntry.objects.exists()


@pytest.mark.parametrize("value", ["0", "-5", "abc", "", "9223372036854775808"])
def test_next_value_must_be_a_positive_64_bit_integer(resetter, invoices, value):
    response = post_reset(client_for(resetter), value)

    assert response.status_code == 200
    assert "next_value" in response.context["form"].errors
    assert last_of() == 42


def test_a_reset_to_the_current_next_value_is_refused_as_no_change(resetter, invoices):
    response = post_reset(client_for(resetter), 43)

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "The next value already is 43: there is nothing to change."
    ]
    assert not SequenceChange.objects.exists()


def test_tampered_expected_last_is_reported_not_hidden(resetter, invoices):
    response = post_reset(client_for(resetter), 100, expected_last="x")

    assert response.status_code == 200
    assert "Enter a whole number." in response.text
    assert last_of() == 42


# Compare-and-set


def test_reset_is_refused_when_the_sequence_moved_since_the_page_was_shown(resetter, invoices):
    client = client_for(resetter)
    shown = client.get(reset_url())
    assert shown.context["sequence"].last == 42
    get_next_value("invoices")  # someone issues 43 meanwhile

    response = post_reset(client, 1000, expected_last=42)

    assert response.status_code == 200
    assert last_of() == 43
    assert not SequenceChange.objects.exists()
    assert not LogEntry.objects.exists()
    assert "The sequence moved while this page was open" in response.text
    assert "its last value was 42, it is now 43. Nothing was changed." in response.text
    assert '<div class="readonly" id="sequence-current-last">43</div>' in response.text
    assert '<input type="hidden" name="expected_last" value="43"' in response.text


def test_after_a_refusal_confirming_again_applies_the_reset(resetter, invoices):
    client = client_for(resetter)
    get_next_value("invoices")
    refused = post_reset(client, 1000, expected_last=42)
    assert last_of() == 43

    response = post_reset(
        client, 1000, expected_last=refused.context["form"]["expected_last"].value()
    )

    assert response.status_code == 302
    assert last_of() == 999
    assert SequenceChange.objects.get().last_before == 43


def test_reset_of_a_sequence_deleted_meanwhile_redirects_and_creates_nothing(resetter, invoices):
    client = client_for(resetter)
    client.get(reset_url())
    Sequence.objects.filter(name="invoices").delete()

    response = post_reset(client, 1000)

    assert response.status_code == 302
    assert response["Location"] == url("sequence_changelist")
    assert not Sequence.objects.exists()
    assert not SequenceChange.objects.exists()


# Moving back: the reuse guard


def test_lowering_without_the_tick_box_warns_with_the_numbers_and_changes_nothing(
    resetter, invoices
):
    response = post_reset(client_for(resetter), 5)

    assert response.status_code == 200
    assert last_of() == 42
    assert not SequenceChange.objects.exists()
    warning = re.search(r'id="sequence-reuse-warning">(.*?)</ul>', response.text, re.S)
    assert warning is not None
    assert "Values 5 to 42 have already been issued" in warning.group(1)
    assert 'type="checkbox" name="allow_reuse"' in response.text
    assert response.context["form"].errors["allow_reuse"] == [
        "Tick this box to confirm that 5 to 42 will be issued again, "
        "or choose a next value above 42."
    ]


def test_lowering_by_one_value_names_that_single_value(resetter, invoices):
    response = post_reset(client_for(resetter), 42)

    assert "Values 42 have already been issued" in response.text


def test_lowering_with_the_tick_box_resets_and_records_the_reuse(resetter, invoices):
    client = client_for(resetter)

    response = post_reset(client, 5, allow_reuse="on")

    assert response.status_code == 302
    assert last_of() == 4
    change = SequenceChange.objects.get()
    assert change.allow_reuse is True
    assert (change.last_before, change.last_after) == (42, 4)
    assert LogEntry.objects.get().get_change_message() == (
        "Reset: next value 5 (was 43), values issued again. Reason: year end"
    )


def test_raising_the_sequence_does_not_ask_for_the_tick_box(resetter, invoices):
    response = post_reset(client_for(resetter), 43 + 1)

    assert response.status_code == 302
    assert SequenceChange.objects.get().allow_reuse is False


# CSRF


def test_reset_without_a_csrf_token_is_refused(resetter, invoices):
    client = client_for(resetter, enforce_csrf_checks=True)

    response = post_reset(client, 1000)

    assert response.status_code == 403
    assert last_of() == 42
    assert not SequenceChange.objects.exists()


def test_reset_with_the_pages_csrf_token_is_accepted(resetter, invoices):
    client = client_for(resetter, enforce_csrf_checks=True)
    page = client.get(reset_url())
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None

    response = post_reset(client, 1000, csrfmiddlewaretoken=token.group(1))

    assert response.status_code == 302
    assert last_of() == 999
