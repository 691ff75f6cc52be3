from django.apps import apps
from django.db import migrations, models

# The app's own label, so that relabelling the app (a subclass of
# SequencesConfig with another label) keeps the migration graph whole.
LABEL = apps.get_containing_app_config(__name__).label


class Migration(migrations.Migration):
    dependencies = [(LABEL, "0001_initial")]

    operations = [
        migrations.AlterField(
            model_name="sequence",
            name="last",
            field=models.PositiveBigIntegerField(verbose_name="last value"),
        ),
    ]
