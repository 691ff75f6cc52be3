"""SeedSequence writes through its migration's historical models, never today's.

Each test migrates a fresh database in a process of its own, with a
migration history in which a later migration of ``sequences`` adds a column
to the audit table (``SequenceChange.ticket``, NOT NULL, a default on the
Python side only, as ``AddField`` leaves it), under the plain label and under
a relabelled app:

- the seed runs *before* that migration while today's model already has the
  column (the upgrade that breaks every existing seed migration on a fresh
  database): writing through today's model names a column that does not
  exist yet;
- the seed runs *after* it while today's model does not know the column:
  writing through today's model leaves the NOT NULL column out.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.db.migrations.loader import MigrationLoader

from sequences.models import Sequence

from . import settings as test_settings

ROOT = Path(__file__).resolve().parent.parent
CORE_MIGRATIONS = ROOT / "sequences" / "migrations"
SHOP_0001 = ROOT / "tests" / "shop" / "migrations" / "0001_initial.py"
LATER = "0099_sequencechange_ticket"

SCRIPT = """
import json, os, sys
import django
from django.conf import settings

case = json.loads(os.environ["CASE"])
settings.configure(
    DATABASES={"default": case["database"]},
    INSTALLED_APPS=[case["app"], "tests.shop"],
    MIGRATION_MODULES={case["label"]: "history.core", "shop": "history.shop"},
    USE_TZ=True,
    DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
)
django.setup()
from django.core.management import call_command
from django.db import connection, models
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from sequences import get_next_value
from sequences.models import SequenceChange

if case["today_has_column"]:
    # Today's model, one release later: it has the column that the later
    # migration adds.
    models.CharField(max_length=20, default="today").contribute_to_class(
        SequenceChange, "ticket"
    )

label = case["label"]
creation = connection.creation
name = creation._create_test_db(verbosity=0, autoclobber=True, keepdb=False)
connection.close()
connection.settings_dict["NAME"] = name
try:
    call_command("migrate", "shop", verbosity=0)
    applied = MigrationRecorder(connection).applied_migrations()
    later_before_seed = (label, case["later"]) in applied
    call_command("migrate", verbosity=0)
    state = MigrationLoader(connection).project_state()
    Change = state.apps.get_model(label, "SequenceChange")
    records = list(
        Change.objects.values_list("sequence_name", "action", "source", "last_after", "ticket")
    )
    print(json.dumps({
        "later_before_seed": later_before_seed,
        "records": records,
        "next": get_next_value("customers"),
    }))
finally:
    connection.close()
    creation._destroy_test_db(name, verbosity=0)
"""


def write_history(root: Path, label: str, seed_after: str) -> None:
    """``history.core`` (the real migrations plus LATER) and ``history.shop``."""
    core = root / "history" / "core"
    shop = root / "history" / "shop"
    for package in (root / "history", core, shop):
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").touch()
    # The real migrations, imported as they are (their label comes from the
    # app registry): only the history after them is made up.
    for path in sorted(CORE_MIGRATIONS.glob("0*.py")):
        (core / path.name).write_text(
            "from importlib import import_module\n\n"
            f"Migration = import_module('sequences.migrations.{path.stem}').Migration\n"
        )
    ((_, real_leaf),) = MigrationLoader(None).graph.leaf_nodes(Sequence._meta.app_label)
    (core / f"{LATER}.py").write_text(
        textwrap.dedent(
            f"""\
            from django.db import migrations, models


            class Migration(migrations.Migration):
                dependencies = [({label!r}, {real_leaf!r})]
                operations = [
                    migrations.AddField(
                        "sequencechange",
                        "ticket",
                        models.CharField(max_length=20, default="history"),
                    ),
                ]
            """
        )
    )
    shutil.copy(SHOP_0001, shop / "0001_initial.py")
    seed_dependency = real_leaf if seed_after == "real" else LATER
    (shop / "0002_seed_sequence_customers.py").write_text(
        textwrap.dedent(
            f"""\
            from django.db import migrations

            from sequences.operations import SeedSequence


            class Migration(migrations.Migration):
                dependencies = [("shop", "0001_initial"), ({label!r}, {seed_dependency!r})]
                operations = [SeedSequence("customers", next_value=1000)]
            """
        )
    )


@pytest.mark.parametrize(
    "app", ["sequences", "tests.relabelled.RelabelledSequencesConfig"], ids=["plain", "relabelled"]
)
@pytest.mark.parametrize(
    ("seed_after", "today_has_column", "later_before_seed", "ticket"),
    [
        pytest.param("real", True, False, "history", id="seed-before-a-later-column"),
        pytest.param("later", False, True, "history", id="seed-after-a-column-today-lacks"),
    ],
)
def test_seed_migration_uses_the_historical_audit_model_on_a_fresh_database(
    tmp_path, app, seed_after, today_has_column, later_before_seed, ticket
):
    label = "gapless" if app.endswith("RelabelledSequencesConfig") else "sequences"
    write_history(tmp_path, label, seed_after)
    suffix = f"_history_{label}_{seed_after}"
    case = {
        "app": app,
        "label": label,
        "later": LATER,
        "today_has_column": today_has_column,
        "database": test_settings.database(suffix),
    }
    environment = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env={
            **environment,
            "CASE": json.dumps(case),
            "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]),
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome == {
        "later_before_seed": later_before_seed,
        # Rows the seed wrote before the column existed get its default when
        # the later migration adds it; rows written after get the historical
        # model's default: "history" either way, never today's "today".
        "records": [["customers", "seed", "migration", 999, ticket]],
        "next": 1000,
    }
