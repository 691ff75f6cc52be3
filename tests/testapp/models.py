from django.db import models


class Ticket(models.Model):
    """A row that stores a sequence value, as an invoice stores its number."""

    number = models.PositiveBigIntegerField(unique=True)
    sequence_name = models.CharField(max_length=100, default="default")
