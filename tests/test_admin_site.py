"""register() on other admin sites, and the admin's checks in this process."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import override_settings
from django.urls import reverse

from sequences.models import Sequence, SequenceChange
from sequences_admin.checks import check_dependencies
from sequences_admin.options import SequenceAdmin, SequenceChangeAdmin, register

from .admin_helpers import LABEL, RESET, client_for, make_sequence, make_user

TEST_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.messages",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "sequences",
    "sequences_admin",
]


def test_register_puts_both_read_only_admins_on_a_site():
    site = admin.AdminSite(name="fresh")

    register(site)

    assert type(site.get_model_admin(Sequence)) is SequenceAdmin
    assert type(site.get_model_admin(SequenceChange)) is SequenceChangeAdmin


def test_register_replaces_an_editable_sequence_admin_registered_before():
    site = admin.AdminSite(name="legacy")
    site.register(Sequence, admin.ModelAdmin)

    register(site)

    assert type(site.get_model_admin(Sequence)) is SequenceAdmin


def test_register_keeps_an_audit_admin_registered_before():
    class MyChangeAdmin(SequenceChangeAdmin):
        list_per_page = 20

    site = admin.AdminSite(name="custom")
    site.register(SequenceChange, MyChangeAdmin)

    register(site)

    assert type(site.get_model_admin(SequenceChange)) is MyChangeAdmin


def test_default_admin_site_has_the_read_only_admins():
    assert type(admin.site.get_model_admin(Sequence)) is SequenceAdmin
    assert type(admin.site.get_model_admin(SequenceChange)) is SequenceChangeAdmin


@override_settings(INSTALLED_APPS=[app for app in TEST_APPS if app != "sequences"])
def test_check_reports_e001_when_sequences_is_not_installed():
    errors = check_dependencies()

    assert [error.id for error in errors] == ["sequences_admin.E001"]
    assert errors[0].hint == (
        "Add 'sequences' to INSTALLED_APPS "
        '(INSTALLED_APPS += ["sequences", "sequences_admin"] is all the admin needs).'
    )


@override_settings(INSTALLED_APPS=[app for app in TEST_APPS if app != "django.contrib.admin"])
def test_check_reports_e002_when_the_django_admin_is_not_installed():
    errors = check_dependencies()

    assert [error.id for error in errors] == ["sequences_admin.E002"]
    assert "django.contrib.admin" in str(errors[0].hint)


@pytest.mark.django_db
@pytest.mark.urls("tests.admin_urls")
def test_sequence_page_on_a_site_without_the_audit_admin_lists_changes_without_a_link():
    make_sequence("invoices", 42)
    client = client_for(make_user("resetter", *RESET))

    response = client.get(reverse(f"sequences_only:{LABEL}_sequence_change", args=["invoices"]))

    assert response.status_code == 200
    assert response.context["recent_changes"] == []
    assert "changes_url" not in response.context
    assert "sequence-all-changes" not in response.text


@pytest.mark.django_db
@pytest.mark.urls("tests.admin_urls")
def test_sequence_deleted_between_the_page_and_the_reset_redirects_and_creates_nothing():
    make_sequence("invoices", 42)
    client = client_for(make_user("resetter", *RESET))
    reset_url = reverse(f"sequences_only:{LABEL}_sequence_reset", args=["invoices"])

    response = client.post(
        reset_url, {"next_value": 100, "expected_last": 42, "reason": "year end"}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse(f"sequences_only:{LABEL}_sequence_changelist")
    assert not Sequence.objects.exists()
    assert not SequenceChange.objects.exists()
