from __future__ import annotations

from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "demo.billing"
    label = "billing"
    verbose_name = "Billing (demo)"
    default_auto_field = "django.db.models.BigAutoField"
