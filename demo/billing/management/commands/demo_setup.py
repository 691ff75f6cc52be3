"""Create the demo's users and sample data; safe to run again.

Run after ``migrate`` (``make demo-setup`` does both). Users' names and
passwords come from the environment; running again resets the passwords to
the configured ones, so the printed credentials always work.
"""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from ...models import Customer, Invoice
from ...services import create_customer, create_invoice

#: (environment variable, default) for each credential.
ADMIN_USERNAME = ("DEMO_ADMIN_USERNAME", "admin")
ADMIN_PASSWORD = ("DEMO_ADMIN_PASSWORD", "admin")
STAFF_USERNAME = ("DEMO_STAFF_USERNAME", "staff")
STAFF_PASSWORD = ("DEMO_STAFF_PASSWORD", "staff")

#: What the staff user may do: everything the demo shows, but not reset a sequence.
STAFF_PERMISSIONS = [
    "billing.view_customer",
    "billing.add_customer",
    "billing.change_customer",
    "billing.view_invoice",
    "sequences.view_sequence",
    "sequences.view_sequencechange",
]

SAMPLE_CUSTOMERS = ["Ada Lovelace Ltd", "Grace Hopper & Co", "Edsger Dijkstra GmbH"]
SAMPLE_INVOICES = [(0, Decimal("1200.00"), "Consulting"), (1, Decimal("349.90"), "Support")]


def setting(variable: tuple[str, str]) -> str:
    name, default = variable
    value = os.environ.get(name, default)
    if not value:
        raise CommandError(f"{name} must not be empty (unset it to use {default!r}).")
    return value


class Command(BaseCommand):
    help = "Create the demo superuser, a staff user without the reset permission, and sample data."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--url",
            default="http://127.0.0.1:8000/",
            help="Where the demo is served, for the printed links.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        credentials = {
            "superuser": (setting(ADMIN_USERNAME), setting(ADMIN_PASSWORD)),
            "staff user": (setting(STAFF_USERNAME), setting(STAFF_PASSWORD)),
        }
        if credentials["superuser"][0] == credentials["staff user"][0]:
            raise CommandError(
                f"{ADMIN_USERNAME[0]} and {STAFF_USERNAME[0]} must differ, "
                f"both are {credentials['superuser'][0]!r}."
            )
        defaults = {ADMIN_PASSWORD[0], STAFF_PASSWORD[0]} - set(os.environ)
        if not settings.DEBUG and defaults:
            raise CommandError(
                f"DEBUG is off: set {' and '.join(sorted(defaults))} rather than use the "
                "demo's well-known passwords."
            )
        with transaction.atomic():
            self.create_users(credentials)
            created = self.create_sample_data()
        self.report(credentials, created, options["url"])

    def create_users(self, credentials: dict[str, tuple[str, str]]) -> None:
        User = get_user_model()
        username, password = credentials["superuser"]
        admin = User.objects.filter(username=username).first() or User(username=username)
        admin.is_staff = admin.is_superuser = admin.is_active = True
        admin.set_password(password)
        admin.save()

        username, password = credentials["staff user"]
        staff = User.objects.filter(username=username).first() or User(username=username)
        staff.is_staff = staff.is_active = True
        staff.is_superuser = False
        staff.set_password(password)
        staff.save()
        staff.user_permissions.set(permissions(STAFF_PERMISSIONS))

    def create_sample_data(self) -> bool:
        """Add sample customers and invoices to an empty database; say whether it did."""
        if Customer.objects.exists() or Invoice.objects.exists():
            return False
        customers = [create_customer(name) for name in SAMPLE_CUSTOMERS]
        today = timezone.localdate()
        for index, amount, description in SAMPLE_INVOICES:
            create_invoice(
                customer=customers[index],
                amount=amount,
                issued_on=today,
                description=description,
            )
        return True

    def report(self, credentials: dict[str, tuple[str, str]], created: bool, url: str) -> None:
        out = self.stdout
        if created:
            out.write(
                f"Sample data: {len(SAMPLE_CUSTOMERS)} customers, {len(SAMPLE_INVOICES)} invoices."
            )
        else:
            out.write("Sample data: already there, left as it is.")
        out.write("")
        out.write("Demo users (set DEMO_ADMIN_USERNAME/PASSWORD, DEMO_STAFF_USERNAME/PASSWORD):")
        for role, (username, password) in credentials.items():
            out.write(f"  {role:<11} {username} / {password}")
        out.write("  (the staff user may view sequences but not reset them)")
        out.write("")
        url = url.rstrip("/")
        out.write(f"Invoices:   {url}/")
        out.write(f"New one:    {url}/invoices/new/")
        out.write(f"Sequences:  {url}/sequences/")
        out.write(f"Admin:      {url}/admin/")


def permissions(names: list[str]) -> list[Permission]:
    found = []
    for name in names:
        app_label, codename = name.split(".")
        found.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return found
