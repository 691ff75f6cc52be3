from django.db import models


class Ticket(models.Model):
    """A row that stores a sequence value, as an invoice stores its number."""

    number = models.PositiveBigIntegerField(unique=True)
    sequence_name = models.CharField(max_length=100, default="default")

    class Meta:
        # For sequence_check --filter sequence_name=...: the number right
        # after the filtered field, as the demo's (year, number).
        indexes = [models.Index(fields=["sequence_name", "number"], name="ticket_name_number")]


class Document(models.Model):
    """A document table for ``sequence_check``: numbers are deliberately not unique.

    ``number`` holds a plain integer (``--sequence``), ``reference`` a formatted
    number (``--series``); either may be NULL. ``kind`` is for ``--filter``.
    """

    number = models.BigIntegerField(null=True, db_index=True)
    reference = models.CharField(max_length=100, null=True)
    kind = models.CharField(max_length=20, default="")
