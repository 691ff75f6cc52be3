from django.apps import apps
from django.db import migrations, models

# The app's own label, so that relabelling the app (a subclass of
# SequencesConfig with another label) keeps the migration graph whole.
LABEL = apps.get_containing_app_config(__name__).label


class Migration(migrations.Migration):
    dependencies = [(LABEL, "0004_binary_name_collation")]

    # A new choice only: no SQL on any backend.
    operations = [
        migrations.AlterField(
            model_name="sequencechange",
            name="action",
            field=models.CharField(
                choices=[
                    ("init", "initialise"),
                    ("reset", "reset"),
                    ("seed", "seed"),
                    ("delete", "delete"),
                    ("collation", "change name matching"),
                ],
                max_length=10,
                verbose_name="action",
            ),
        ),
    ]
