"""The demo's billing app: numbering, the service functions, pages, admin and setup."""

from __future__ import annotations

import datetime
import importlib
import io
import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.urls import reverse
from django.utils import timezone

import sequences
from demo.billing.models import Customer, Invoice
from demo.billing.numbering import (
    CUSTOMER_FIRST_NUMBER,
    CUSTOMER_SEQUENCE,
    invoice_reference,
    invoice_sequence,
)
from demo.billing.services import (
    InvoiceRejected,
    create_customer,
    create_invoice,
    save_new_customer,
)
from sequences.models import SequenceChange
from sequences.operations import seed as seed_sequence

seed_migration = importlib.import_module("demo.billing.migrations.0002_seed_customer_sequence")

THIS_YEAR = timezone.localdate().year


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def customer(in_transaction):
    return create_customer("Acme")


def references():
    return [invoice.reference for invoice in Invoice.objects.order_by("year", "number")]


# Numbering


def test_invoice_reference_pads_year_and_number_to_four_digits():
    assert invoice_reference(2026, 7) == "INV-2026-0007"


def test_invoice_reference_keeps_numbers_past_9999_whole():
    assert invoice_reference(2026, 12345) == "INV-2026-12345"


def test_each_year_has_its_own_invoice_sequence():
    assert invoice_sequence(2026) != invoice_sequence(2027)


@pytest.mark.parametrize("year", ["2026", 2026.0, True, 0, 999, 10000])
def test_invoice_sequence_refuses_what_is_not_a_year(year):
    with pytest.raises(ValueError, match="year must be an int from 1000 to 9999"):
        invoice_sequence(year)


# Services


def test_invoices_are_numbered_from_one(customer):
    create_invoice(customer=customer, amount=Decimal("10"))
    create_invoice(customer=customer, amount=Decimal("20"))

    assert references() == [f"INV-{THIS_YEAR}-0001", f"INV-{THIS_YEAR}-0002"]


def test_invoice_number_is_stored_as_integers(customer):
    invoice = create_invoice(customer=customer, amount=Decimal("10"))

    invoice.refresh_from_db()
    assert (invoice.year, invoice.number) == (THIS_YEAR, 1)


def test_invoices_of_another_year_start_again_at_one(customer):
    create_invoice(customer=customer, amount=Decimal("10"), issued_on=datetime.date(2030, 5, 1))
    create_invoice(customer=customer, amount=Decimal("10"), issued_on=datetime.date(2031, 1, 1))

    assert references() == ["INV-2030-0001", "INV-2031-0001"]


def test_rejected_invoice_consumes_no_number(customer):
    create_invoice(customer=customer, amount=Decimal("10"))
    with pytest.raises(InvoiceRejected):
        create_invoice(customer=customer, amount=Decimal("0"))
    create_invoice(customer=customer, amount=Decimal("30"))

    assert references() == [f"INV-{THIS_YEAR}-0001", f"INV-{THIS_YEAR}-0002"]
    assert sequences.get_last_value(invoice_sequence(THIS_YEAR)) == 2


def test_rejected_invoice_names_the_number_it_gave_back(customer):
    create_invoice(customer=customer, amount=Decimal("10"))
    with pytest.raises(InvoiceRejected) as rejected:
        create_invoice(customer=customer, amount=Decimal("-5"))

    assert rejected.value.reference == f"INV-{THIS_YEAR}-0002"
    assert rejected.value.error.message_dict == {"amount": ["The amount must be positive."]}
    assert Invoice.objects.count() == 1


def test_first_rejected_invoice_leaves_no_sequence_behind(customer):
    with pytest.raises(InvoiceRejected):
        create_invoice(customer=customer, amount=Decimal("0"))

    assert sequences.get_last_value(invoice_sequence(THIS_YEAR)) is None


def test_invoice_is_numbered_by_the_last_statements_before_the_commit(customer):
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connections["default"]) as queries:
        invoice = create_invoice(customer=customer, amount=Decimal("10"))
    sql = [query["sql"] for query in queries.captured_queries]
    while sql and sql[-1].upper().startswith(("RELEASE SAVEPOINT", "COMMIT")):
        sql.pop()
    draw, update = sql[-2:]
    assert "sequences_sequence" in draw
    assert update.startswith("UPDATE ") and Invoice._meta.db_table in update
    assert sql[-3].startswith("INSERT ") and Invoice._meta.db_table in sql[-3]
    assert Invoice.objects.get().number == invoice.number == 1


def test_customers_are_numbered_from_1000(in_transaction):
    first = create_customer("Acme")
    second = create_customer("Globex")

    assert (first.number, second.number) == (1000, 1001)
    assert str(first) == "C1000 Acme"


def test_save_new_customer_refuses_a_saved_customer(customer):
    with pytest.raises(ValueError, match="already saved"):
        save_new_customer(customer)


# The seed migration


def seed(alias="default"):
    """Do what the demo's seed migration does, on ``alias``, with its historical models."""
    (operation,) = seed_migration.Migration.operations
    state = MigrationLoader(None).project_state(("billing", "0002_seed_customer_sequence"))
    label = SequenceChange._meta.app_label
    seed_sequence(
        state.apps.get_model(label, "Sequence"),
        state.apps.get_model(label, "SequenceChange"),
        operation.sequence_name,
        operation.next_value,
        using=alias,
        reason="demo seed",
    )


def last_seed_change(alias="default"):
    return SequenceChange.objects.using(alias).filter(sequence_name=CUSTOMER_SEQUENCE).first()


def test_seed_creates_a_missing_customer_sequence_and_audits_it(in_transaction):
    sequences.delete(CUSTOMER_SEQUENCE)

    seed()

    assert sequences.get_last_value(CUSTOMER_SEQUENCE) == CUSTOMER_FIRST_NUMBER - 1
    change = last_seed_change()
    assert (change.action, change.source) == ("seed", "migration")
    assert (change.last_before, change.last_after) == (None, 999)


def test_seed_moves_a_sequence_that_is_behind_up_to_1000(in_transaction):
    sequences.delete(CUSTOMER_SEQUENCE)
    sequences.get_next_values(5, CUSTOMER_SEQUENCE)

    seed()

    assert create_customer("Acme").number == 1000
    assert (last_seed_change().last_before, last_seed_change().last_after) == (5, 999)


def test_seed_leaves_a_sequence_already_past_1000_alone(in_transaction):
    sequences.delete(CUSTOMER_SEQUENCE)
    sequences.get_next_values(1500, CUSTOMER_SEQUENCE)
    changes = SequenceChange.objects.count()

    seed()

    assert sequences.get_last_value(CUSTOMER_SEQUENCE) == 1500
    assert SequenceChange.objects.count() == changes


def test_seed_twice_changes_the_sequence_once(in_transaction):
    sequences.delete(CUSTOMER_SEQUENCE)
    changes = SequenceChange.objects.count()

    seed()
    seed()

    assert SequenceChange.objects.count() == changes + 1


def test_seed_runs_on_the_database_being_migrated(in_transaction):
    sequences.delete(CUSTOMER_SEQUENCE, using="other")
    sequences.delete(CUSTOMER_SEQUENCE, using="default")

    seed("other")

    assert sequences.get_last_value(CUSTOMER_SEQUENCE, using="other") == 999
    assert sequences.get_last_value(CUSTOMER_SEQUENCE, using="default") is None
    assert last_seed_change("other").database == "other"


@pytest.mark.django_db(transaction=True)
def test_migrating_billing_seeds_the_customer_sequence_and_unmigrating_keeps_it():
    connection = connections["default"]
    sequences.delete(CUSTOMER_SEQUENCE)
    executor = MigrationExecutor(connection)
    executor.migrate([("billing", "0001_initial")])
    assert sequences.get_last_value(CUSTOMER_SEQUENCE) is None

    executor = MigrationExecutor(connection)
    executor.migrate([("billing", "0002_seed_customer_sequence")])

    assert sequences.get_last_value(CUSTOMER_SEQUENCE) == 999
    assert last_seed_change().source == "migration"
    # Back to the latest schema, which the other tests use.
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes("billing"))


# Pages


def test_invoice_list_shows_the_formatted_numbers(client, customer):
    create_invoice(customer=customer, amount=Decimal("10"))

    response = client.get(reverse("billing:invoice-list"))

    assert f"INV-{THIS_YEAR}-0001" in response.content.decode()


def test_invoice_list_links_to_the_form_the_sequences_and_the_admin(client, in_transaction):
    page = client.get(reverse("billing:invoice-list")).content.decode()

    for name in ["billing:invoice-create", "billing:sequence-state", "admin:index"]:
        assert f'href="{reverse(name)}"' in page


def post_invoice(client, customer, amount, issued_on=None):
    return client.post(
        reverse("billing:invoice-create"),
        {
            "customer": customer.pk,
            "issued_on": (issued_on or timezone.localdate()).isoformat(),
            "amount": amount,
            "description": "Work",
        },
        follow=True,
    )


def test_invoice_form_creates_an_invoice_and_shows_it_in_the_list(client, customer):
    response = post_invoice(client, customer, "12.50")

    assert response.redirect_chain == [(reverse("billing:invoice-list"), 302)]
    assert f"Created INV-{THIS_YEAR}-0001 for C1000 Acme." in response.content.decode()
    assert Invoice.objects.get().amount == Decimal("12.50")


def test_invoice_form_with_zero_amount_says_the_number_was_given_back(client, customer):
    post_invoice(client, customer, "5")

    response = post_invoice(client, customer, "0")

    page = response.content.decode()
    assert response.redirect_chain == []
    assert f"The attempt took INV-{THIS_YEAR}-0002" in page
    assert "last value is still 1" in page
    assert "The amount must be positive." in page
    assert Invoice.objects.count() == 1


def test_invoice_form_shows_the_amount_error_with_the_amount_field(client, customer):
    response = post_invoice(client, customer, "0")

    field = re.search(r'<p class="field invalid" id="field-amount">(.*?)</p>', response.text, re.S)
    assert field, "the amount's paragraph is not marked invalid"
    label, control, error = (
        field.group(1).index("<label"),
        field.group(1).index('name="amount"'),
        field.group(1).index("The amount must be positive."),
    )
    assert label < control < error
    assert '<ul class="errorlist">' not in response.text  # no bullet above the label


def test_invoice_form_takes_and_shows_dates_as_the_list_does(client, customer):
    form = client.get(reverse("billing:invoice-create"))
    post_invoice(client, customer, "5", issued_on=datetime.date(2026, 3, 1))
    listing = client.get(reverse("billing:invoice-list"))

    assert 'type="text" name="issued_on"' in form.text
    assert f'value="{timezone.localdate().isoformat()}"' in form.text
    assert 'placeholder="YYYY-MM-DD"' in form.text
    assert "<td>2026-03-01</td>" in listing.text


def test_invoice_form_refuses_a_date_in_another_format(client, customer):
    response = client.post(
        reverse("billing:invoice-create"),
        {"customer": customer.pk, "issued_on": "03/01/2026", "amount": "5"},
    )

    assert response.context["form"].errors == {"issued_on": ["Enter a valid date."]}
    assert not Invoice.objects.exists()


def test_invoice_form_failing_first_says_no_sequence_exists_yet(client, customer):
    response = post_invoice(client, customer, "0")

    assert "last value is still (none)" in response.content.decode()


def test_invoice_form_refuses_a_missing_amount_before_taking_a_number(client, customer):
    response = client.post(
        reverse("billing:invoice-create"),
        {"customer": customer.pk, "issued_on": "2026-01-05", "amount": ""},
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {"amount": ["This field is required."]}
    assert sequences.get_last_value(invoice_sequence(2026)) is None


def test_invoice_form_refuses_other_methods(client, in_transaction):
    assert client.put(reverse("billing:invoice-create")).status_code == 405


def test_sequence_page_shows_each_sequence_with_its_check(client, customer):
    create_invoice(customer=customer, amount=Decimal("10"))
    create_invoice(customer=customer, amount=Decimal("10"))

    page = client.get(reverse("billing:sequence-state")).content.decode()

    assert invoice_sequence(THIS_YEAR) in page
    assert f"2 invoices, INV-{THIS_YEAR}-0001 to INV-{THIS_YEAR}-0002: no gaps" in page
    assert Customer.objects.count() == 1
    assert re.search(r"\b1 customer\b(?!s)", page)


def test_sequence_page_flags_a_year_whose_invoices_do_not_match_the_sequence(client, customer):
    create_invoice(customer=customer, amount=Decimal("10"))
    create_invoice(customer=customer, amount=Decimal("10")).delete()

    page = client.get(reverse("billing:sequence-state")).content.decode()

    assert f"1 invoice, INV-{THIS_YEAR}-0001 to INV-{THIS_YEAR}-0001: MISMATCH" in page
    assert "1 invoices" not in page


def test_sequence_page_names_what_is_missing(client, customer):
    create_invoice(customer=customer, amount=Decimal("10"))
    create_invoice(customer=customer, amount=Decimal("10")).delete()
    create_invoice(customer=customer, amount=Decimal("10"))

    page = client.get(reverse("billing:sequence-state")).content.decode()

    assert f"1 missing: {invoice_reference(THIS_YEAR, 2)}" in page


def test_sequence_page_explains_a_gap_left_by_an_audited_reset(client, customer):
    create_invoice(customer=customer, amount=Decimal("10"))
    change = sequences.reset_sequence(
        invoice_sequence(THIS_YEAR), 10, expected_last=1, reason="Numbers 2-9 went to paper"
    )
    create_invoice(customer=customer, amount=Decimal("10"))

    page = client.get(reverse("billing:sequence-state")).content.decode()

    assert "no gaps" in page and "MISMATCH" not in page
    expected = (
        f"{invoice_reference(THIS_YEAR, 2)} to {invoice_reference(THIS_YEAR, 9)} (8) "
        "skipped on purpose"
    )
    assert expected in page
    assert f'href="/admin/sequences/sequencechange/{change.pk}/change/"' in page
    assert "Numbers 2-9 went to paper" in page


def test_invoice_numbering_carries_on_in_a_database_from_before_number_series(customer):
    # The demo numbered invoices from ``billing.invoice.<year>`` by hand; the
    # series uses the same names, so an existing database carries on.
    sequences.get_next_values(41, f"billing.invoice.{THIS_YEAR}")

    assert create_invoice(customer=customer, amount=Decimal("1")).reference == (
        f"INV-{THIS_YEAR}-0042"
    )


def test_period_sequences_are_listed_in_period_order(admin_client, customer):
    for year in (2027, 2025, 2026):
        create_invoice(customer=customer, amount=Decimal("1"), issued_on=datetime.date(year, 6, 1))
    names = [invoice_sequence(year) for year in (2025, 2026, 2027)]

    page = admin_client.get("/admin/sequences/sequence/").content.decode()
    shown = io.StringIO()
    call_command("sequence_show", stdout=shown)

    assert [page.index(name) for name in names] == sorted(page.index(name) for name in names)
    listed = [line.split()[0] for line in shown.getvalue().splitlines()[1:]]
    assert [name for name in listed if name.startswith("billing.invoice.")] == names


def test_sequence_page_lists_changes_made_by_hand(client, in_transaction):
    sequences.reset_sequence("billing.manual", 50, expected_last=None, reason="Demo reset reason")

    page = client.get(reverse("billing:sequence-state")).content.decode()

    assert "billing.manual" in page and "Demo reset reason" in page


# Admin


def test_admin_shows_the_sequences_last_values(admin_client, customer):
    create_invoice(customer=customer, amount=Decimal("10"))

    page = admin_client.get("/admin/sequences/sequence/").content.decode()

    assert invoice_sequence(THIS_YEAR) in page


def test_admin_cannot_change_a_sequence(admin_client, customer):
    page = admin_client.get("/admin/sequences/sequence/").content.decode()

    assert "/admin/sequences/sequence/add/" not in page
    assert admin_client.get("/admin/sequences/sequence/add/").status_code == 403


def test_admin_numbers_a_customer_added_through_it(admin_client, customer):
    response = admin_client.post("/admin/billing/customer/add/", {"name": "Initech"})

    assert response.status_code == 302
    assert Customer.objects.get(name="Initech").number == customer.number + 1


def test_admin_saves_a_changed_customer_without_renumbering_it(admin_client, customer):
    response = admin_client.post(
        f"/admin/billing/customer/{customer.pk}/change/", {"name": "Acme Corp"}
    )

    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.name, customer.number) == ("Acme Corp", 1000)


def test_admin_cannot_add_an_invoice(admin_client, in_transaction):
    assert admin_client.get("/admin/billing/invoice/add/").status_code == 403


# demo_setup


@pytest.fixture
def debug(settings):
    """demo_setup runs with DEBUG on, as the demo does (tests run with it off)."""
    settings.DEBUG = True


def run_setup(*args):
    out = io.StringIO()
    call_command("demo_setup", *args, stdout=out)
    return out.getvalue()


def test_demo_setup_creates_a_superuser_and_a_staff_user_who_cannot_reset(in_transaction, debug):
    run_setup()

    User = get_user_model()
    admin = User.objects.get(username="admin")
    staff = User.objects.get(username="staff")
    assert admin.is_superuser and admin.check_password("admin")
    assert staff.is_staff and not staff.is_superuser and staff.check_password("staff")
    assert staff.has_perm("sequences.view_sequence")
    assert not staff.has_perm("sequences.reset_sequence")


def test_demo_setup_loads_sample_data_once(in_transaction, debug):
    run_setup()
    run_setup()

    assert Customer.objects.count() == 3
    assert Invoice.objects.count() == 2
    assert get_user_model().objects.count() == 2


def test_demo_setup_prints_credentials_and_links(in_transaction, debug):
    out = run_setup("--url", "http://127.0.0.1:8123/")

    assert "superuser   admin / admin" in out
    assert "staff user  staff / staff" in out
    assert "http://127.0.0.1:8123/invoices/new/" in out


def test_demo_setup_takes_credentials_from_the_environment(in_transaction, debug, monkeypatch):
    monkeypatch.setenv("DEMO_ADMIN_USERNAME", "boss")
    monkeypatch.setenv("DEMO_STAFF_PASSWORD", "s3cret")

    run_setup()

    assert get_user_model().objects.get(username="boss").is_superuser
    assert get_user_model().objects.get(username="staff").check_password("s3cret")


def test_demo_setup_resets_passwords_to_the_configured_ones(in_transaction, debug, monkeypatch):
    run_setup()
    monkeypatch.setenv("DEMO_ADMIN_PASSWORD", "changed")

    run_setup()

    assert get_user_model().objects.get(username="admin").check_password("changed")


def test_demo_setup_refuses_one_name_for_both_users(in_transaction, debug, monkeypatch):
    monkeypatch.setenv("DEMO_STAFF_USERNAME", "admin")

    with pytest.raises(CommandError, match="must differ"):
        run_setup()
    assert not get_user_model().objects.exists()


def test_demo_setup_refuses_an_empty_password(in_transaction, debug, monkeypatch):
    monkeypatch.setenv("DEMO_ADMIN_PASSWORD", "")

    with pytest.raises(CommandError, match="DEMO_ADMIN_PASSWORD must not be empty"):
        run_setup()


def test_demo_setup_refuses_default_passwords_when_debug_is_off(in_transaction, settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEMO_ADMIN_PASSWORD and DEMO_STAFF_PASSWORD"):
        run_setup()
    assert not get_user_model().objects.exists()
