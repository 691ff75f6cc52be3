"""Installing the app: import order, app config, relabelling."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.apps import apps
from django.db import connection

from sequences.apps import SequencesConfig

ROOT = Path(__file__).resolve().parent.parent


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_public_api_imports_before_django_setup():
    result = run_python(
        """
        from sequences import Sequence, get_next_value, get_next_values, SequenceLocked
        from sequences import NumberSeries
        from django.apps import apps
        assert not apps.ready
        # Series are defined at import time, in modules loaded before setup.
        NumberSeries("invoices", format="INV-{year}-{value:04d}", period="year")
        assert not apps.ready
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_plain_app_name_uses_the_app_config():
    assert type(apps.get_app_config("sequences")) is SequencesConfig


@pytest.mark.django_db(transaction=True)
def test_relabelled_app_uses_its_own_quoted_table():
    database = {
        key: value
        for key, value in connection.settings_dict.items()
        if key in {"ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT", "OPTIONS"}
    }
    result = run_python(
        """
        import json, os
        import django
        from django.conf import settings

        settings.configure(
            DATABASES={"default": json.loads(os.environ["DATABASE"])},
            INSTALLED_APPS=["tests.relabelled.RelabelledSequencesConfig"],
            USE_TZ=True,
        )
        django.setup()
        from django.core.management import call_command
        from django.db import connection
        from sequences import get_next_value, get_last_value, delete
        from sequences.models import Sequence

        call_command("migrate", "gapless", verbosity=0)
        try:
            values = [get_next_value("r"), get_next_value("r", nowait=True)]
            tables = connection.introspection.table_names()
            print(json.dumps([Sequence._meta.db_table, values, get_last_value("r"),
                              "gapless_sequence" in tables, "sequences_sequence" in tables,
                              delete("r")]))
        finally:
            call_command("migrate", "gapless", "zero", verbosity=0)
        """,
        DATABASE=json.dumps(database),
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["gapless_sequence", [1, 2], 2, True, True, True]
