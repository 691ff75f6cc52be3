from django.apps import apps
from django.db import migrations

from ..collation import Column, server_exact_collation, set_column_collation

# The app's own label, so that relabelling the app keeps the migration graph whole.
LABEL = apps.get_containing_app_config(__name__).label

# MariaDB and MySQL compare strings with the column's collation. django-sequences
# 3.1 left ``name`` at the table's default one, usually case- and
# accent-insensitive and blind to trailing spaces: "Invoice", "invoice " and
# "invoicé" were ONE sequence. Giving existing rows a binary collation would
# split such a sequence, and the other spellings would start again at their
# initial value: numbers issued twice. So this migration gives exact (binary,
# no-pad) matching only to a database whose sequence table is empty: a new
# database, where no caller has relied on the old matching yet. A database
# switched from 3.1 (rows exist) keeps 3.1's matching; converting it is an
# explicit, audited step (``manage.py sequence_collation --exact``, see
# docs/collation.md). MySQL 8.0.11 to 8.0.16 have no binary no-pad utf8mb4
# collation, so their columns keep the default too.
#
# Until it was made conditional, this migration converted every database.
# Databases that applied that version keep it (Django does not run a migration
# twice); ``manage.py sequence_collation --list-near-duplicates`` finds the
# sequences it may have split.


def exact_names_on_a_new_database(state_apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "mysql":
        return  # PostgreSQL and SQLite compare names exactly already.
    sequence = state_apps.get_model(LABEL, "Sequence")
    if sequence.objects.using(connection.alias).exists():
        return  # Switched from 3.1: keep the matching its callers relied on.
    collation = server_exact_collation(connection)
    if collation is None:
        return  # MySQL 8.0.11 to 8.0.16: no exact collation to give.
    # The audit table first: if the second statement fails, the sequence table
    # still has its old matching and the check sequences.E001 reports the mismatch.
    for model_name, field_name in [("SequenceChange", "sequence_name"), ("Sequence", "name")]:
        column = Column.of(state_apps.get_model(LABEL, model_name), field_name)
        set_column_collation(connection, column, collation)


class Migration(migrations.Migration):
    dependencies = [(LABEL, "0003_sequencechange")]

    operations = [
        # Reversing keeps the collation: going back to one that merges
        # distinct names could fail on, or silently merge, existing rows.
        migrations.RunPython(
            exact_names_on_a_new_database,
            migrations.RunPython.noop,
            atomic=False,
            elidable=False,
        ),
    ]
