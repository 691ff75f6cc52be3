from django.apps import apps
from django.db import migrations

# The app's own label, so that relabelling the app keeps the migration graph whole.
LABEL = apps.get_containing_app_config(__name__).label

# MariaDB and MySQL compare strings with the column's collation, by default a
# case- and accent-insensitive one that also ignores trailing spaces: "Invoice",
# "invoice " and "invoicé" were one sequence. A binary, no-pad collation makes
# sequence names compare as they do on PostgreSQL and SQLite: exactly.
COLLATIONS = {True: "utf8mb4_nopad_bin", False: "utf8mb4_0900_bin"}  # keyed by is-MariaDB

ALTER = "ALTER TABLE {table} MODIFY {column} VARCHAR(100) CHARACTER SET utf8mb4 COLLATE {collation} NOT NULL"


def binary_names(state_apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "mysql":
        return
    collation = COLLATIONS[connection.mysql_is_mariadb]
    for model_name, column in [("Sequence", "name"), ("SequenceChange", "sequence_name")]:
        model = state_apps.get_model(LABEL, model_name)
        schema_editor.execute(
            ALTER.format(
                table=schema_editor.quote_name(model._meta.db_table),
                column=schema_editor.quote_name(column),
                collation=collation,
            )
        )


class Migration(migrations.Migration):
    dependencies = [(LABEL, "0003_sequencechange")]

    operations = [
        # Reversing keeps the binary collation: going back to one that merges
        # distinct names could fail on, or silently merge, existing rows.
        migrations.RunPython(
            binary_names, migrations.RunPython.noop, atomic=False, elidable=False
        ),
    ]
