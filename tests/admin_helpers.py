"""Users and sequences for the admin tests."""

from __future__ import annotations

from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from sequences import get_next_values
from sequences.models import Sequence

PASSWORD = "correct horse battery staple"

#: The label the app is installed under: "gapless" in the relabelled run.
LABEL = Sequence._meta.app_label
VIEW = (f"{LABEL}.view_sequence", f"{LABEL}.view_sequencechange")
RESET = (*VIEW, f"{LABEL}.reset_sequence")


def make_user(
    username: str, *perms: str, superuser: bool = False, password: str | None = None
) -> User:
    """A staff user holding ``perms`` (``"app_label.codename"``).

    Without ``password`` the user can only be logged in with ``force_login``
    (which skips the deliberately slow password hashing).
    """
    user = User.objects.create_user(username, password=password, is_staff=True)
    user.is_superuser = superuser
    user.save()
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


def client_for(user: User, *, enforce_csrf_checks: bool = False) -> Client:
    client = Client(enforce_csrf_checks=enforce_csrf_checks)
    client.force_login(user)
    return client


def make_sequence(name: str, last: int) -> Sequence:
    """A sequence that has handed out 1 to ``last``, through the public API."""
    get_next_values(last, name)
    return Sequence.objects.get(name=name)


def url(view: str, *args: str) -> str:
    """``url("sequence_reset", quote(name))``: an admin URL of the sequences app."""
    return reverse(f"admin:{LABEL}_{view}", args=args)
