"""Register the sequence admin on Django's default admin site.

Nothing is registered when the ``sequences`` app is missing: the system check
``sequences_admin.E001`` then says what to add, instead of an import error.
"""

from __future__ import annotations

from django.apps import apps
from django.contrib import admin

if apps.is_installed("sequences"):
    from .options import register

    register(admin.site)
