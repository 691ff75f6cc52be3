"""SeedSequence's arguments, description and name; applying it is in test_seed_migrations."""

from __future__ import annotations

import pytest

from sequences.operations import SeedSequence


def test_seed_sequence_deconstructs_to_its_arguments():
    operation = SeedSequence("customers", next_value=1000)
    assert operation.deconstruct() == (
        "SeedSequence",
        ("customers",),
        {"next_value": 1000},
    )


def test_seed_sequence_describes_a_value():
    assert SeedSequence("customers", 1000).describe() == "Seed sequence 'customers' at 1000"


def test_seed_sequence_describes_a_field():
    operation = SeedSequence("invoices", from_field="shop.Invoice.number")
    assert operation.describe() == ("Seed sequence 'invoices' from MAX(shop.Invoice.number) + 1")


def test_seed_sequence_names_migrations_after_the_sequence():
    assert SeedSequence("Customer Nº 2", 5).migration_name_fragment == "seed_sequence_customer_n_2"


def test_seed_sequence_of_a_name_without_letters_or_digits_still_names_migrations():
    assert SeedSequence("***", 5).migration_name_fragment == "seed_sequence"


@pytest.mark.parametrize("kwargs", [{}, {"next_value": 5, "from_field": "shop.Invoice.number"}])
def test_seed_sequence_needs_exactly_one_source(kwargs):
    with pytest.raises(TypeError) as info:
        SeedSequence("customers", **kwargs)
    assert str(info.value) == "SeedSequence needs exactly one of next_value and from_field"


def test_seed_sequence_refuses_a_next_value_of_0():
    with pytest.raises(ValueError) as info:
        SeedSequence("customers", 0)
    assert str(info.value) == "next_value must be between 1 and 9223372036854775807, got 0"


@pytest.mark.parametrize("from_field", ["shop.Invoice", "shop.Invoice.number.x", "a.1b.c", 5])
def test_seed_sequence_refuses_a_malformed_field_path(from_field):
    with pytest.raises(ValueError) as info:
        SeedSequence("customers", from_field=from_field)
    assert str(info.value) == (
        "from_field must be 'app_label.ModelName.field_name' (e.g. 'billing.Invoice.number'), "
        f"got {from_field!r}"
    )


def test_seed_sequence_refuses_a_bad_name():
    with pytest.raises(ValueError) as info:
        SeedSequence("", 5)
    assert str(info.value) == "sequence_name must be 1 to 100 characters long, got 0"


# Autocommit: SQLite's schema editor refuses to open inside a transaction.
@pytest.mark.django_db(transaction=True)
def test_seed_sequence_in_a_state_without_the_audit_model_names_the_migration_to_depend_on():
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    from sequences.models import Sequence

    label = Sequence._meta.app_label
    # The state after the sequences app's 0002: no SequenceChange yet.
    state = MigrationLoader(None).project_state((label, "0002_alter_sequence_last"))
    with connection.schema_editor(atomic=False) as editor, pytest.raises(LookupError) as info:
        SeedSequence("customers", 5).database_forwards("shop", editor, state, state)
    assert str(info.value) == (
        f"SeedSequence('customers'): the migration state has no {label}.SequenceChange; "
        f"the migration must depend on ('{label}', '0003_sequencechange') or a later "
        f"migration of {label}."
    )
    assert not Sequence.objects.filter(name="customers").exists()
