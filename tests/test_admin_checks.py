"""System checks: what sequences_admin needs, said clearly."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from sequences_admin.checks import check_dependencies

ROOT = Path(__file__).resolve().parent.parent
ADMIN_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.messages",
    "django.contrib.sessions",
]


def run_check(installed_apps: list[str]) -> subprocess.CompletedProcess[str]:
    """Set Django up in a fresh process with these apps; print every check message."""
    script = textwrap.dedent(
        f"""
        import django
        from django.conf import settings
        from django.core import checks

        settings.configure(
            INSTALLED_APPS={installed_apps!r},
            DATABASES={{
                "default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
            }},
            DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        )
        django.setup()
        for message in checks.run_checks():
            print(message.id, message.msg, message.hint, sep=" | ")
        """
    )
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_no_error_when_sequences_and_the_admin_are_installed():
    assert check_dependencies() == []


def test_missing_sequences_app_is_error_e001_with_a_hint_not_an_import_error():
    result = run_check(ADMIN_APPS + ["sequences_admin"])

    assert result.returncode == 0, result.stderr  # the admin was set up, nothing crashed
    assert "sequences_admin.E001" in result.stdout
    assert "Add 'sequences' to INSTALLED_APPS" in result.stdout
    assert 'INSTALLED_APPS += ["sequences", "sequences_admin"]' in result.stdout


def test_missing_django_admin_is_error_e002_with_a_hint():
    result = run_check(
        [
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "sequences",
            "sequences_admin",
        ]
    )

    assert result.returncode == 0, result.stderr
    assert "sequences_admin.E002" in result.stdout
    assert "sequences_admin.E001" not in result.stdout
    assert "Add 'django.contrib.admin' to INSTALLED_APPS" in result.stdout


def test_sequences_without_admin_app_installs_no_admin_and_passes_its_checks():
    result = run_check(ADMIN_APPS + ["sequences"])

    assert result.returncode == 0, result.stderr
    assert "sequences_admin" not in result.stdout


def test_both_installed_gives_no_sequences_admin_message_in_a_fresh_process():
    result = run_check(ADMIN_APPS + ["sequences", "sequences_admin"])

    assert result.returncode == 0, result.stderr
    assert "sequences_admin" not in result.stdout
