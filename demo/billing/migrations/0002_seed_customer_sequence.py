"""Seed the customer sequence so that customer numbers start at 1000.

Hand-written stand-in: once ``makemigrations billing --seed-sequence
billing.customer=1000`` exists, this whole file is to be replaced by the
migration it writes (``sequences.operations.SeedSequence``). All the seeding
logic of the demo is here, and nowhere else.
"""

from django.db import migrations

SEQUENCE = "billing.customer"
FIRST_NUMBER = 1000


def seed_customer_sequence(apps, schema_editor):
    """Make the next customer number FIRST_NUMBER, unless the sequence is already there.

    Never moves the sequence back: if customers were numbered past the seed,
    nothing changes. The change goes through reset_sequence, which locks,
    compares-and-sets against the value read here, and records it in the audit trail.
    """
    from sequences import get_last_value, reset_sequence

    alias = schema_editor.connection.alias
    current = get_last_value(SEQUENCE, using=alias)
    if current is not None and current >= FIRST_NUMBER - 1:
        return
    reset_sequence(
        SEQUENCE,
        FIRST_NUMBER,
        expected_last=current,
        reason=f"Customer numbers start at {FIRST_NUMBER}.",
        action="seed",
        source="migration",
        using=alias,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0001_initial"),
        ("sequences", "0003_sequencechange"),
    ]

    operations = [
        # Unapplying leaves the sequence alone: moving it back would hand out
        # customer numbers again.
        migrations.RunPython(seed_customer_sequence, migrations.RunPython.noop, elidable=False),
    ]
