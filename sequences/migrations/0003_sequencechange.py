import django.utils.timezone
from django.apps import apps
from django.db import migrations, models

# The app's own label, so that relabelling the app (a subclass of
# SequencesConfig with another label) keeps the migration graph whole.
LABEL = apps.get_containing_app_config(__name__).label


class Migration(migrations.Migration):
    dependencies = [
        (LABEL, "0002_alter_sequence_last"),
    ]

    operations = [
        migrations.CreateModel(
            name="SequenceChange",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "sequence_name",
                    models.CharField(db_index=True, max_length=100, verbose_name="sequence"),
                ),
                ("database", models.CharField(max_length=100, verbose_name="database alias")),
                (
                    "action",
                    models.CharField(
                        choices=[
                            ("init", "initialise"),
                            ("reset", "reset"),
                            ("seed", "seed"),
                            ("delete", "delete"),
                        ],
                        max_length=10,
                        verbose_name="action",
                    ),
                ),
                (
                    "last_before",
                    models.PositiveBigIntegerField(
                        blank=True,
                        help_text="Empty: did not exist.",
                        null=True,
                        verbose_name="last value before",
                    ),
                ),
                (
                    "last_after",
                    models.PositiveBigIntegerField(
                        blank=True,
                        help_text="Empty: deleted.",
                        null=True,
                        verbose_name="last value after",
                    ),
                ),
                (
                    "allow_reuse",
                    models.BooleanField(
                        default=False,
                        help_text="The change moved the sequence back, so values are issued again.",
                        verbose_name="reuse allowed",
                    ),
                ),
                ("reason", models.TextField(blank=True, verbose_name="reason")),
                (
                    "source",
                    models.CharField(
                        choices=[
                            ("admin", "admin"),
                            ("command", "management command"),
                            ("migration", "migration"),
                            ("code", "code"),
                        ],
                        max_length=10,
                        verbose_name="source",
                    ),
                ),
                (
                    "user_id",
                    models.CharField(
                        blank=True, max_length=255, null=True, verbose_name="user id"
                    ),
                ),
                (
                    "username",
                    models.CharField(blank=True, max_length=255, verbose_name="username"),
                ),
                (
                    "created_at",
                    models.DateTimeField(
                        db_index=True, default=django.utils.timezone.now, verbose_name="time"
                    ),
                ),
            ],
            options={
                "verbose_name": "sequence change",
                "verbose_name_plural": "sequence changes",
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.AlterModelOptions(
            name="sequence",
            options={
                "permissions": [("reset_sequence", "Can reset sequence")],
                "verbose_name": "sequence",
                "verbose_name_plural": "sequences",
            },
        ),
    ]
