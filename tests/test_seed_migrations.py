"""makemigrations --seed-sequence and the SeedSequence operation, end to end.

Every test here writes a migration into the ``shop`` fixture app and runs
``migrate``: schema changes cannot run inside the test transaction on MariaDB
and SQLite, so these tests run in autocommit mode only.
"""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest
from django.core.management import CommandError, get_commands
from django.core.management.commands import makemigrations as django_makemigrations
from django.db.migrations.loader import MigrationLoader
from django.test import override_settings

from sequences import get_last_value, get_next_value, reset_sequence
from sequences.models import Sequence, SequenceChange
from sequences.operations import SeedSequence

from .command_utils import call, run_cli
from .shop.models import Invoice
from .shop_fixture import shop_fixture  # noqa: F401  (the "shop" fixture)

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "other"])


#: The label the app is installed under: "gapless" in the relabelled run.
LABEL = Sequence._meta.app_label


def sequences_leaf():
    (leaf,) = MigrationLoader(None).graph.leaf_nodes(LABEL)
    return leaf


def make(*args, **options):
    return call("makemigrations", "shop", *args, **options)


def migrate(*args, database="default"):
    call("migrate", "shop", *args, database=database, verbosity=0)


def load(name):
    importlib.invalidate_caches()
    return importlib.import_module(f"shop.migrations.{name}").Migration


def new_files(migrations):
    return sorted(p.name for p in migrations.glob("0*.py") if p.name != "0001_initial.py")


def changes(name, using="default"):
    return list(
        SequenceChange.objects.using(using)
        .filter(sequence_name=name)
        .order_by("id")
        .values_list("action", "source", "last_before", "last_after")
    )


def command_error(*args):
    with pytest.raises(CommandError) as info:
        make(*args)
    return str(info.value)


# The generated file


def test_makemigrations_is_the_one_from_sequences():
    assert get_commands()["makemigrations"] == "sequences"


def test_seed_writes_a_migration_named_after_the_operation(shop):
    out, _ = make("--seed-sequence", "customers=1000")
    assert new_files(shop) == ["0002_seed_sequence_customers.py"]
    assert out == (
        "Migrations for 'shop':\n"
        "  shop/migrations/0002_seed_sequence_customers.py\n"
        "    p Seed sequence 'customers' at 1000\n"
    )


def test_seed_file_is_short_and_uses_the_shipped_operation(shop):
    make("--seed-sequence", "customers=1000", "--no-header")
    text = (shop / "0002_seed_sequence_customers.py").read_text()
    assert text.startswith("import sequences.operations\nfrom django.db import migrations\n")
    assert text.endswith(
        "    operations = [\n"
        "        sequences.operations.SeedSequence(\n"
        "            sequence_name='customers',\n"
        "            next_value=1000,\n"
        "        ),\n"
        "    ]\n"
    )
    assert len(text.splitlines()) < 25


def test_seed_file_passes_ruff(shop):
    make("--seed-sequence", "customers=1000", "--seed-sequence", "invoices=shop.Invoice.number")
    (path,) = shop.glob("0002_*.py")
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache",
         "--select", "E,F,W,I,UP,B,C4,SIM", str(path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_seed_depends_on_the_apps_latest_migration_and_on_sequences(shop):
    make("--seed-sequence", "customers=1000")
    migration = load("0002_seed_sequence_customers")
    assert sorted(migration.dependencies) == sorted([("shop", "0001_initial"), sequences_leaf()])


def test_seed_from_another_apps_model_depends_on_that_app_too(shop):
    make("--seed-sequence", "users=auth.User.id")
    migration = load("0002_seed_sequence_users")
    auth_leaf = MigrationLoader(None).graph.leaf_nodes("auth")[0]
    assert sorted(migration.dependencies) == sorted(
        [("shop", "0001_initial"), sequences_leaf(), auth_leaf]
    )


def test_seed_after_an_earlier_seed_depends_on_it(shop):
    make("--seed-sequence", "customers=1000")
    make("--seed-sequence", "orders=5")
    migration = load("0003_seed_sequence_orders")
    assert ("shop", "0002_seed_sequence_customers") in migration.dependencies


def test_seed_operations_are_seed_sequences(shop):
    make("--seed-sequence", "customers=1000", "--seed-sequence", "invoices=shop.Invoice.number")
    migration = load("0002_seed_sequence_customers_seed_sequence_invoices")
    assert [op.deconstruct() for op in migration.operations] == [
        ("SeedSequence", (), {"sequence_name": "customers", "next_value": 1000}),
        (
            "SeedSequence",
            (),
            {"sequence_name": "invoices", "from_field": "shop.Invoice.number"},
        ),
    ]


def test_seed_name_option_overrides_the_name(shop):
    make("--seed-sequence", "customers=1000", "--name", "start_numbering")
    assert new_files(shop) == ["0002_start_numbering.py"]


def test_seed_of_many_sequences_gets_a_short_name(shop):
    make(*[f"--seed-sequence=sequence_number_{i}={i + 1}" for i in range(3)])
    assert new_files(shop) == ["0002_seed_sequence_sequence_number_0_and_more.py"]


def test_seed_name_is_made_of_the_names_letters_and_digits(shop):
    make("--seed-sequence", "It's  Nº 1!=5")
    assert new_files(shop) == ["0002_seed_sequence_it_s_n_1.py"]


def test_seed_splits_on_the_last_equals_sign(shop):
    make("--seed-sequence", "a=b=7")
    migrate()
    assert get_last_value("a=b") == 6


def test_seed_dry_run_writes_nothing(shop):
    out, _ = make("--seed-sequence", "customers=1000", "--dry-run", "--verbosity", "3")
    assert new_files(shop) == []
    assert "sequences.operations.SeedSequence(" in out


# Applying, re-applying, reversing


def test_applying_the_seed_sets_the_next_value(shop):
    make("--seed-sequence", "customers=1000")
    migrate()
    assert get_next_value("customers") == 1000


def test_applying_the_seed_records_a_seed_from_a_migration(shop):
    make("--seed-sequence", "customers=1000")
    migrate()
    change = SequenceChange.objects.get(sequence_name="customers")
    assert (change.action, change.source, change.last_before, change.last_after) == (
        "seed", "migration", None, 999,
    )  # fmt: skip
    assert change.reason == "Seed sequence 'customers' at 1000 (shop)"


def test_seed_moves_a_sequence_that_is_behind_forward(shop):
    get_next_value("customers")
    make("--seed-sequence", "customers=1000")
    migrate()
    assert get_last_value("customers") == 999
    assert changes("customers") == [("seed", "migration", 1, 999)]


def test_seed_never_moves_a_sequence_back(shop):
    reset_sequence("customers", 5000, expected_last=None, reason="ahead")
    make("--seed-sequence", "customers=1000")
    migrate()
    assert get_last_value("customers") == 4999
    assert len(changes("customers")) == 1


def test_seed_at_exactly_the_current_next_value_changes_nothing(shop):
    reset_sequence("customers", 1000, expected_last=None, reason="there")
    make("--seed-sequence", "customers=1000")
    migrate()
    assert len(changes("customers")) == 1


def test_unapplying_the_seed_leaves_the_sequence_as_it_is(shop):
    make("--seed-sequence", "customers=1000")
    migrate()
    get_next_value("customers")
    migrate("0001")
    assert get_last_value("customers") == 1000
    assert len(changes("customers")) == 1


def test_reapplying_the_seed_is_safe(shop):
    make("--seed-sequence", "customers=1000")
    migrate()
    get_next_value("customers")
    get_next_value("customers")
    migrate("0001")
    migrate()
    assert get_next_value("customers") == 1002
    assert len(changes("customers")) == 1


def test_reapplying_the_seed_after_the_sequence_was_deleted_seeds_it_again(shop):
    make("--seed-sequence", "customers=1000")
    migrate()
    migrate("0001")
    call("shell", "-c", "import sequences; sequences.delete('customers')")
    migrate()
    assert get_last_value("customers") == 999


# Seeding from existing data


def test_seed_from_a_field_is_max_plus_one_when_the_migration_runs(shop):
    make("--seed-sequence", "invoices=shop.Invoice.number")
    Invoice.objects.create(number=7)
    Invoice.objects.create(number=41)
    migrate()
    assert get_next_value("invoices") == 42


def test_seed_from_an_empty_table_seeds_nothing(shop):
    make("--seed-sequence", "invoices=shop.Invoice.number")
    migrate()
    assert get_last_value("invoices") is None


def test_seed_from_negative_numbers_seeds_nothing(shop):
    make("--seed-sequence", "invoices=shop.Invoice.number")
    Invoice.objects.create(number=-3)
    migrate()
    assert get_last_value("invoices") is None


def test_seed_from_a_field_never_moves_a_sequence_back(shop):
    reset_sequence("invoices", 100, expected_last=None, reason="ahead")
    Invoice.objects.create(number=41)
    make("--seed-sequence", "invoices=shop.Invoice.number")
    migrate()
    assert get_last_value("invoices") == 99


def test_seed_from_a_model_missing_from_the_migration_state_says_so(shop):
    (shop / "0002_by_hand.py").write_text(
        "from django.db import migrations\n\n"
        "from sequences.operations import SeedSequence\n\n\n"
        "class Migration(migrations.Migration):\n"
        f"    dependencies = [('shop', '0001_initial'), ('{LABEL}', '0003_sequencechange')]\n"
        "    operations = [SeedSequence('x', from_field='shop.Receipt.number')]\n"
    )
    with pytest.raises(LookupError) as info:
        migrate()
    assert str(info.value) == (
        "SeedSequence('x'): no model shop.Receipt in the migration state; "
        "the migration must depend on that app's migrations."
    )


# Databases and routers


def test_migrate_database_seeds_that_database_only(shop):
    make("--seed-sequence", "customers=1000")
    migrate(database="other")
    assert get_last_value("customers", using="other") == 999
    assert get_last_value("customers", using="default") is None
    assert changes("customers", using="other") == [("seed", "migration", None, 999)]


def test_seed_honours_the_routers_allow_migrate(shop, settings):
    settings.DATABASE_ROUTERS = ["tests.command_utils.SequencesOnOther"]
    make("--seed-sequence", "customers=1000")
    migrate(database="default")
    assert get_last_value("customers", using="default") is None
    migrate(database="other")
    assert get_last_value("customers", using="other") == 999


def test_seed_from_a_field_reads_the_database_being_migrated(shop):
    make("--seed-sequence", "invoices=shop.Invoice.number")
    Invoice.objects.using("other").create(number=70)
    Invoice.objects.using("default").create(number=5)
    migrate(database="other")
    assert get_last_value("invoices", using="other") == 70


# Errors


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("customers", "--seed-sequence must be NAME=VALUE, with VALUE an integer of at least 1 "
         "or app_label.Model.field; got 'customers'."),
        ("=5", "--seed-sequence must be NAME=VALUE, with VALUE an integer of at least 1 "
         "or app_label.Model.field; got '=5'."),
        ("customers=", "--seed-sequence must be NAME=VALUE, with VALUE an integer of at least 1 "
         "or app_label.Model.field; got 'customers='."),
        ("customers=-5", "--seed-sequence customers=VALUE must be an integer from 1 to "
         "9223372036854775807, got -5."),
        ("customers=0", "--seed-sequence customers=VALUE must be an integer from 1 to "
         "9223372036854775807, got 0."),
        ("customers=ten", "--seed-sequence customers=VALUE must be an integer from 1 to "
         "9223372036854775807, got 'ten'."),
        ("customers=1.5", "--seed-sequence customers=...: VALUE must be an integer or "
         "app_label.Model.field (e.g. billing.Invoice.number), got '1.5'."),
        ("customers=shop.Invoice", "--seed-sequence customers=...: VALUE must be an integer "
         "or app_label.Model.field (e.g. billing.Invoice.number), got 'shop.Invoice'."),
        ("customers=shop.Receipt.number",
         "--seed-sequence: App 'shop' doesn't have a 'Receipt' model."),
        ("customers=nope.Invoice.number", "--seed-sequence: No installed app with label 'nope'."),
        ("customers=shop.Invoice.total",
         "--seed-sequence: shop.Invoice has no field 'total'."),
        ("customers=shop.Invoice.note", "--seed-sequence: shop.Invoice.note is a CharField; "
         "seeding reads MAX() of an integer field."),
        ("x" * 101 + "=5",
         "Invalid sequence name: sequence_name must be 1 to 100 characters long, got 101."),
    ],
)  # fmt: skip
def test_seed_refuses_a_malformed_spec(shop, spec, message):
    assert command_error("--seed-sequence", spec) == message
    assert new_files(shop) == []


def test_seed_refuses_a_name_given_twice(shop):
    message = command_error("--seed-sequence", "a=1", "--seed-sequence", "a=2")
    assert message == "--seed-sequence names each sequence once; repeated: 'a'."


def test_seed_accepts_a_name_of_100_characters(shop):
    make("--seed-sequence", "n" * 100 + "=3")
    migrate()
    assert get_last_value("n" * 100) == 2


@pytest.mark.parametrize("option", ["--merge", "--update", "--check"])
def test_seed_refuses_options_that_do_not_write_one_new_migration(shop, option):
    message = command_error("--seed-sequence", "a=1", option)
    assert message == (
        f"--seed-sequence cannot be combined with {option}; it writes one new migration "
        "(like --empty)."
    )


def test_seed_needs_one_app_label(shop):
    with pytest.raises(CommandError) as info:
        call("makemigrations", "--seed-sequence", "a=1")
    assert str(info.value) == (
        "--seed-sequence needs exactly one app label, the app that gets the migration: "
        "makemigrations APP --seed-sequence NAME=VALUE (got 0)."
    )


def test_seed_needs_only_one_app_label(shop):
    with pytest.raises(CommandError) as info:
        call("makemigrations", "shop", "auth", "--seed-sequence", "a=1")
    assert str(info.value).endswith("(got 2).")


def test_seed_refuses_an_unknown_app(shop):
    with pytest.raises(CommandError) as info:
        call("makemigrations", "nope", "--seed-sequence", "a=1")
    assert str(info.value) == "No installed app with label 'nope'."


def test_seed_refuses_an_app_without_migrations(shop):
    with pytest.raises(CommandError) as info:
        call("makemigrations", "staticfiles", "--seed-sequence", "a=1")
    assert str(info.value) == (
        "App 'staticfiles' has no migrations; a seed migration goes after the app's latest "
        "one. Create its first migration (makemigrations staticfiles) or put the seed in an "
        "app that has migrations."
    )


def test_seed_refuses_to_write_a_migration_without_the_sequences_migrations(shop, settings):
    # The demo app's migrations depend on those of sequences: without them too.
    without = {**settings.MIGRATION_MODULES, LABEL: None, "billing": None}
    with override_settings(MIGRATION_MODULES=without):
        message = command_error("--seed-sequence", "a=1")
    assert message == (
        f"--seed-sequence: no migrations found for the sequences app (label {LABEL!r}); "
        "a seed migration must run after them."
    )
    assert new_files(shop) == []


def test_seed_errors_exit_1_on_the_command_line(shop, capsys):
    code, out, err = run_cli(capsys, "makemigrations", "shop", "--seed-sequence", "a=-1")
    assert (code, out) == (1, "")
    assert err == (
        "CommandError: --seed-sequence a=VALUE must be an integer from 1 to "
        "9223372036854775807, got -1.\n"
    )


# Without --seed-sequence: Django's own command


def test_without_seed_the_output_is_djangos(shop):
    argv = ["shop", "--empty", "--name", "custom", "--dry-run", "--verbosity", "3"]
    ours = call("makemigrations", *argv, "--no-header")
    djangos = call(django_makemigrations.Command(), *argv, "--no-header")
    assert ours == djangos
    assert "class Migration(migrations.Migration):" in ours[0]


def test_without_seed_an_empty_migration_is_djangos(shop):
    make("--empty", "--name", "custom")
    migration = load("0002_custom")
    assert (migration.dependencies, migration.operations) == ([("shop", "0001_initial")], [])


def test_without_seed_no_changes_are_detected(shop):
    assert make("--check", "--dry-run") == ("No changes detected in app 'shop'\n", "")


def test_without_seed_an_unknown_app_exits_2_as_in_django(shop, capsys):
    assert run_cli(capsys, "makemigrations", "nope") == (
        2, "", "No installed app with label 'nope'.\n",
    )  # fmt: skip


def test_seed_sequence_operation_is_importable_from_the_generated_file(shop):
    make("--seed-sequence", "customers=1000")
    migration = load("0002_seed_sequence_customers")
    assert isinstance(migration.operations[0], SeedSequence)
