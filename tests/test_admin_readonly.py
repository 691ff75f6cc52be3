"""The sequence and audit pages: read-only for everyone, superusers included."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.admin.utils import quote
from django.test import override_settings
from django.utils import timezone

from sequences import delete, reset_sequence
from sequences.models import Sequence, SequenceChange

from .admin_helpers import LABEL, RESET, VIEW, client_for, make_sequence, make_user, url

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoices():
    return make_sequence("invoices", 42)


@pytest.fixture
def viewer():
    return make_user("viewer", *VIEW)


@pytest.fixture
def resetter():
    return make_user("resetter", *RESET)


@pytest.fixture
def superuser():
    return make_user("boss", superuser=True)


# The sequence list


def test_anonymous_is_sent_to_the_login_page(client, invoices):
    response = client.get(url("sequence_changelist"))

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_staff_without_view_permission_gets_403_on_the_list(invoices):
    response = client_for(make_user("nobody")).get(url("sequence_changelist"))

    assert response.status_code == 403


def test_list_shows_name_last_value_and_next_value(viewer, invoices):
    response = client_for(viewer).get(url("sequence_changelist"))

    assert response.status_code == 200
    row = response.context["cl"].result_list[0]
    assert (row.name, row.last) == ("invoices", 42)
    assert '<td class="field-next_value">43</td>' in response.text


def test_list_shows_the_time_of_the_latest_audited_change(viewer, invoices):
    old = reset_sequence("invoices", 100, expected_last=42, reason="first")
    SequenceChange.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=3)
    )
    latest = reset_sequence("invoices", 200, expected_last=99, reason="second")

    response = client_for(viewer).get(url("sequence_changelist"))

    assert response.context["cl"].result_list[0].last_change == latest.created_at


def test_list_shows_an_empty_last_change_for_a_sequence_never_changed_by_hand(viewer, invoices):
    response = client_for(viewer).get(url("sequence_changelist"))

    assert response.context["cl"].result_list[0].last_change is None
    assert '<td class="field-last_change">-</td>' in response.text


def test_list_searches_by_name(viewer):
    make_sequence("invoices-2026", 1)
    make_sequence("orders", 1)

    response = client_for(viewer).get(url("sequence_changelist"), {"q": "voice"})

    assert [s.name for s in response.context["cl"].result_list] == ["invoices-2026"]


def test_list_is_ordered_by_name(viewer):
    for name in ["b", "c", "a"]:
        make_sequence(name, 1)

    response = client_for(viewer).get(url("sequence_changelist"))

    assert [s.name for s in response.context["cl"].result_list] == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("order", "expected"),
    # Columns: 0 name, 1 last value, 2 next value, 3 last audited change.
    [("1", ["b", "c", "a"]), ("-2", ["a", "c", "b"]), ("-3", ["c", "a"])],
)
def test_list_sorts_by_last_value_and_by_last_change(viewer, order, expected):
    make_sequence("a", 30)
    make_sequence("b", 10)
    make_sequence("c", 20)
    reset_sequence("a", 31 + 1, expected_last=30, reason="older")
    reset_sequence("c", 21 + 1, expected_last=20, reason="newer")
    SequenceChange.objects.filter(sequence_name="a").update(
        created_at=timezone.now() - datetime.timedelta(hours=1)
    )

    response = client_for(viewer).get(url("sequence_changelist"), {"o": order})

    names = [s.name for s in response.context["cl"].result_list]
    if order == "-3":  # never changed, "b" sorts as NULL: first or last by backend
        names.remove("b")
    assert names == expected


def test_list_offers_no_add_link_and_no_bulk_actions_even_to_a_superuser(superuser, invoices):
    response = client_for(superuser).get(url("sequence_changelist"))

    assert response.status_code == 200
    assert url("sequence_add") not in response.text
    assert 'name="action"' not in response.text
    assert "action-checkbox" not in response.text


def test_bulk_delete_action_posted_by_hand_deletes_nothing(superuser, invoices):
    response = client_for(superuser).post(
        url("sequence_changelist"),
        {"action": "delete_selected", "_selected_action": ["invoices"], "post": "yes"},
    )

    assert response.status_code in (200, 302)
    assert Sequence.objects.filter(name="invoices").exists()


# The sequence page


def test_sequence_page_shows_values_read_only_to_a_superuser(superuser, invoices):
    response = client_for(superuser).get(url("sequence_change", "invoices"))

    assert response.status_code == 200
    assert '<div class="readonly">42</div>' in response.text
    assert '<div class="readonly">43</div>' in response.text
    assert 'name="last"' not in response.text
    assert 'name="name"' not in response.text
    assert 'name="_save"' not in response.text
    assert url("sequence_delete", "invoices") not in response.text


@pytest.mark.parametrize("who", ["viewer", "superuser"])
def test_posting_the_sequence_page_is_refused_and_changes_nothing(request, who, invoices):
    user = request.getfixturevalue(who)

    response = client_for(user).post(
        url("sequence_change", "invoices"), {"name": "renamed", "last": "1", "_save": "Save"}
    )

    assert response.status_code == 403
    assert list(Sequence.objects.values_list("name", "last")) == [("invoices", 42)]


@pytest.mark.parametrize("view", ["sequence_add", "sequence_delete"])
def test_add_and_delete_pages_answer_403_to_a_superuser(superuser, invoices, view):
    args = () if view == "sequence_add" else ("invoices",)
    client = client_for(superuser)

    assert client.get(url(view, *args)).status_code == 403
    assert client.post(url(view, *args), {"name": "x", "last": 1, "post": "yes"}).status_code == (
        403
    )
    assert list(Sequence.objects.values_list("name", "last")) == [("invoices", 42)]


def test_reset_button_is_hidden_from_a_user_without_the_reset_permission(viewer, invoices):
    response = client_for(viewer).get(url("sequence_change", "invoices"))

    assert response.status_code == 200
    assert url("sequence_reset", "invoices") not in response.text
    assert "Reset…" not in response.text


@pytest.mark.parametrize("who", ["resetter", "superuser"])
def test_reset_button_is_shown_to_users_with_the_reset_permission(request, who, invoices):
    user = request.getfixturevalue(who)

    response = client_for(user).get(url("sequence_change", "invoices"))

    assert f'href="{url("sequence_reset", "invoices")}"' in response.text
    assert "Reset…" in response.text


def test_sequence_page_lists_its_recent_audited_changes_newest_first(viewer, invoices):
    reset_sequence("invoices", 100, expected_last=42, reason="year end")
    reset_sequence("invoices", 200, expected_last=99, reason="new branch")
    reset_sequence("orders", 5, expected_last=None, reason="other", action="init")

    response = client_for(viewer).get(url("sequence_change", "invoices"))

    reasons = [change.reason for change in response.context["recent_changes"]]
    assert reasons == ["new branch", "year end"]
    assert "year end" in response.text
    assert url("sequencechange_changelist") + "?sequence_name=invoices" in response.text


def test_sequence_page_shows_at_most_ten_changes(viewer, invoices):
    for last in range(42, 54):
        reset_sequence("invoices", last + 2, expected_last=last, reason=f"step {last}")

    response = client_for(viewer).get(url("sequence_change", "invoices"))

    assert len(response.context["recent_changes"]) == 10


def test_sequence_page_says_so_when_there_is_no_audited_change(viewer, invoices):
    response = client_for(viewer).get(url("sequence_change", "invoices"))

    assert response.context["recent_changes"] == []
    assert "No audited change yet" in response.text


def test_sequence_page_hides_the_audit_from_users_who_may_not_view_it(invoices):
    reset_sequence("invoices", 100, expected_last=42, reason="secret reason")
    user = make_user("only-sequences", f"{LABEL}.view_sequence")

    response = client_for(user).get(url("sequence_change", "invoices"))

    assert response.status_code == 200
    assert "secret reason" not in response.text
    assert "sequence-recent-changes" not in response.text


def test_sequence_names_with_slashes_and_underscores_have_working_pages(resetter):
    make_sequence("invoices/2026_A", 7)
    client = client_for(resetter)

    listing = client.get(url("sequence_changelist"))
    page = client.get(url("sequence_change", quote("invoices/2026_A")))
    reset = client.get(url("sequence_reset", quote("invoices/2026_A")))

    assert url("sequence_change", quote("invoices/2026_A")) in listing.text
    assert page.status_code == 200
    assert page.context["original"].name == "invoices/2026_A"
    assert reset.status_code == 200
    assert reset.context["sequence"].name == "invoices/2026_A"


# The audit trail


@pytest.fixture
def changes(invoices):
    reset_sequence("invoices", 100, expected_last=42, reason="year end", source="command")
    reset_sequence("orders", 10, expected_last=None, reason="", action="init")
    old = reset_sequence("invoices", 200, expected_last=99, reason="by hand", source="admin")
    SequenceChange.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=400)
    )


def audit_reasons(response):
    return sorted(change.reason for change in response.context["cl"].result_list)


def test_audit_list_shows_every_change(viewer, changes):
    response = client_for(viewer).get(url("sequencechange_changelist"))

    assert response.status_code == 200
    assert audit_reasons(response) == ["", "by hand", "year end"]


def test_audit_list_filters_by_sequence_name(viewer, changes):
    response = client_for(viewer).get(
        url("sequencechange_changelist"), {"sequence_name": "invoices"}
    )

    assert audit_reasons(response) == ["by hand", "year end"]
    assert 'value="invoices"' in response.text


def test_audit_list_filter_by_sequence_keeps_the_other_filters(viewer, changes):
    response = client_for(viewer).get(
        url("sequencechange_changelist"), {"sequence_name": "invoices", "source": "admin"}
    )

    assert audit_reasons(response) == ["by hand"]
    assert '<input type="hidden" name="source" value="admin">' in response.text


def test_audit_list_filters_by_source(viewer, changes):
    response = client_for(viewer).get(url("sequencechange_changelist"), {"source": "command"})

    assert audit_reasons(response) == ["year end"]


def test_audit_list_filters_by_date_through_its_past_7_days_link(viewer, changes):
    client = client_for(viewer)
    listing = client.get(url("sequencechange_changelist"))
    changelist = listing.context["cl"]
    by_time = next(spec for spec in changelist.filter_specs if spec.title == "time")
    past_week = next(c for c in by_time.choices(changelist) if c["display"] == "Past 7 days")

    response = client.get(url("sequencechange_changelist") + past_week["query_string"])

    assert audit_reasons(response) == ["", "year end"]


def test_audit_list_offers_its_date_filter(viewer, changes):
    response = client_for(viewer).get(url("sequencechange_changelist"))

    assert "created_at__gte=" in response.text
    assert "By time" in response.text
    assert "By source" in response.text
    assert "By sequence" in response.text


def test_audit_records_cannot_be_added_changed_or_deleted_even_by_a_superuser(superuser, changes):
    client = client_for(superuser)
    change = SequenceChange.objects.get(reason="year end")
    listing = client.get(url("sequencechange_changelist"))
    page = client.get(url("sequencechange_change", str(change.pk)))

    assert url("sequencechange_add") not in listing.text
    assert 'name="action"' not in listing.text
    assert page.status_code == 200
    assert 'name="reason"' not in page.text
    assert 'name="_save"' not in page.text
    assert client.get(url("sequencechange_add")).status_code == 403
    assert client.post(url("sequencechange_add"), {"reason": "forged"}).status_code == 403
    edit = client.post(url("sequencechange_change", str(change.pk)), {"reason": "edited"})
    assert edit.status_code == 403
    delete = client.post(url("sequencechange_delete", str(change.pk)), {"post": "yes"})
    assert delete.status_code == 403
    bulk = client.post(
        url("sequencechange_changelist"),
        {"action": "delete_selected", "_selected_action": [str(change.pk)], "post": "yes"},
    )
    assert bulk.status_code in (200, 302)
    assert SequenceChange.objects.count() == 3
    assert SequenceChange.objects.get(pk=change.pk).reason == "year end"


def test_audit_list_needs_its_view_permission(changes):
    user = make_user("only-sequences", f"{LABEL}.view_sequence")

    response = client_for(user).get(url("sequencechange_changelist"))

    assert response.status_code == 403


def test_audit_list_shows_values_before_and_after_and_a_shortened_reason(viewer, invoices):
    reset_sequence("invoices", 100, expected_last=42, reason="x" * 100)

    response = client_for(viewer).get(url("sequencechange_changelist"))

    assert '<td class="field-last_values">42 → 99</td>' in response.text
    assert "x" * 39 + "…" in response.text
    assert "x" * 40 not in response.text


def test_audit_list_says_in_the_action_column_when_values_were_issued_again(viewer, invoices):
    reset_sequence("invoices", 10, expected_last=42, reason="void", allow_reuse=True)

    response = client_for(viewer).get(url("sequencechange_changelist"))

    assert '<td class="field-action_done">reset (values issued again)</td>' in response.text
    assert "field-user_id" not in response.text


def test_audit_record_page_describes_its_own_values_only(viewer, invoices):
    change = reset_sequence("invoices", 100, expected_last=42, reason="raise")

    response = client_for(viewer).get(url("sequencechange_change", str(change.pk)))

    assert "did not exist" not in response.text
    assert "deleted" not in response.text
    assert "No values issued again." in response.text
    assert "are issued again" not in response.text


def test_audit_record_page_of_a_creation_says_the_sequence_did_not_exist(viewer):
    change = reset_sequence("new", 5, expected_last=None, reason="", action="init")

    response = client_for(viewer).get(url("sequencechange_change", str(change.pk)))

    assert "The sequence did not exist before this change." in response.text
    assert "This change deleted the sequence." not in response.text


def test_audit_record_page_of_a_deletion_says_the_sequence_was_deleted(viewer, invoices):
    assert delete("invoices")
    change = SequenceChange.objects.get(action="delete")

    response = client_for(viewer).get(url("sequencechange_change", str(change.pk)))

    assert "This change deleted the sequence." in response.text
    assert "did not exist" not in response.text


def test_audit_record_page_of_a_reuse_says_values_are_issued_again(viewer, invoices):
    change = reset_sequence("invoices", 10, expected_last=42, reason="void", allow_reuse=True)

    response = client_for(viewer).get(url("sequencechange_change", str(change.pk)))

    assert "values already issued are issued again" in response.text
    assert "No values issued again." not in response.text


def test_sequence_titles_are_the_name_not_a_repr(viewer, invoices):
    response = client_for(viewer).get(url("sequence_change", "invoices"))

    assert response.context["subtitle"] == "invoices"
    assert "Sequence(name=" not in response.text


def test_sequence_page_without_audited_change_shows_a_dash_as_the_list_does(viewer, invoices):
    page = client_for(viewer).get(url("sequence_change", "invoices"))
    listing = client_for(viewer).get(url("sequence_changelist"))

    assert "None" not in page.text
    assert '<div class="readonly">-</div>' in page.text
    assert '<td class="field-last_change">-</td>' in listing.text


def test_a_name_made_of_spaces_is_shown_quoted(viewer):
    make_sequence("   ", 3)

    listing = client_for(viewer).get(url("sequence_changelist"))
    page = client_for(viewer).get(url("sequence_change", quote("   ")))

    assert "&#x27;   &#x27;</a>" in listing.text
    assert page.context["subtitle"] == "'   '"
    assert '<div class="readonly">&#x27;   &#x27;</div>' in page.text


def test_audit_record_page_shows_the_whole_reason_and_the_user_id(viewer, resetter, invoices):
    change = reset_sequence("invoices", 100, expected_last=42, reason="y" * 100, user=resetter)

    response = client_for(viewer).get(url("sequencechange_change", str(change.pk)))

    assert "y" * 100 in response.text
    assert f'<div class="readonly">{resetter.pk}</div>' in response.text


def test_audit_list_with_facet_counts_counts_the_filtered_changes(viewer, changes):
    response = client_for(viewer).get(
        url("sequencechange_changelist"), {"_facets": "True", "sequence_name": "invoices"}
    )

    assert response.status_code == 200
    assert audit_reasons(response) == ["by hand", "year end"]
    assert "admin (1)" in response.text


@override_settings(TIME_ZONE="Europe/Paris")
def test_sequence_page_shows_the_last_audited_change_as_a_local_formatted_time(viewer, invoices):
    change = reset_sequence("invoices", 100, expected_last=42, reason="year end")
    change.created_at = datetime.datetime(2026, 3, 1, 14, 5, tzinfo=datetime.UTC)
    SequenceChange.objects.filter(pk=change.pk).update(created_at=change.created_at)

    response = client_for(viewer).get(url("sequence_change", "invoices"))

    assert '<div class="readonly">March 1, 2026, 3:05 p.m.</div>' in response.text


def test_a_full_sequence_shows_no_next_value(viewer):
    Sequence.objects.create(name="full", last=2**63 - 1)

    response = client_for(viewer).get(url("sequence_changelist"))

    assert '<td class="field-last">9223372036854775807</td>' in response.text
    assert '<td class="field-next_value">-</td>' in response.text
