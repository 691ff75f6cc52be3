"""A fixture app for the seed-migration tests (installed only by their fixture)."""

from __future__ import annotations

from django.db import models


class Invoice(models.Model):
    number = models.IntegerField(unique=True)
    note = models.CharField(max_length=20, blank=True)

    # Declared: mypy's Django plugin only adds managers to installed apps' models.
    objects: models.Manager[Invoice] = models.Manager()

    class Meta:
        app_label = "shop"
