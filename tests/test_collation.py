"""Name matching on MariaDB/MySQL: switching from 3.1 never issues a number twice.

django-sequences 3.1 (run here for real, in the throwaway virtualenv of
tests/test_compatibility.py) matched names with the table's default
collation: on MariaDB, "Invoices"/"invoices" and "inv"/"inv " were one
sequence. See docs/collation.md.
"""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections, migrations, models, transaction
from django.db.migrations.loader import MigrationLoader

from sequences import get_last_value, get_next_value
from sequences.collation import (
    MARIADB_EXACT,
    MYSQL_EXACT,
    ExactMatchingUnavailable,
    check_name_collation,
    column_collation,
    exact_collation,
    name_columns,
    require_exact_collation,
    set_column_collation,
)
from sequences.models import Sequence, SequenceChange
from tests.command_utils import call, run_cli
from tests.test_compatibility import (  # noqa: F401 (upstream_python is a fixture)
    rebuild_sequences_tables,
    run_upstream,
    upstream_python,
)

# Draws with the published library: each name, that many times.
UPSTREAM_DRAW_SCRIPT = """
import json, os
import django
from django.conf import settings

settings.configure(
    DATABASES={"default": json.loads(os.environ["UPSTREAM_DATABASE"])},
    INSTALLED_APPS=["sequences"],
    USE_TZ=True,
)
django.setup()
from django.core.management import call_command
import sequences

assert "site-packages" in sequences.__file__, sequences.__file__
call_command("migrate", "sequences", verbosity=0)
last = []
for name, times in json.loads(os.environ["UPSTREAM_DRAWS"]):
    for _ in range(times):
        value = sequences.get_next_value(name)
    last.append(value)
print(json.dumps(last))
"""

DOC = Path(__file__).resolve().parent.parent / "docs" / "collation.md"
DRAWS = [("Invoices", 42), ("inv", 7)]
GENERAL_CI = "utf8mb4_general_ci"  # the test database's default (CHARSET utf8mb4)


def collations() -> list[str | None]:
    return [column_collation(connection, column) for column in name_columns()]


def check_ids() -> list[str]:
    return [str(message.id) for message in check_name_collation(databases=["default"])]


@pytest.fixture
def fresh_tables(transactional_db):
    """For tests that change the columns: later tests get new tables."""
    yield
    rebuild_sequences_tables()


@pytest.fixture
def switched(fresh_tables, upstream_python):  # noqa: F811
    """A database made and used by the published 3.1, then migrated by this package."""
    call_command("migrate", "sequences", "zero", verbosity=0)
    connections.close_all()
    drawn = run_upstream(
        upstream_python,
        UPSTREAM_DRAW_SCRIPT,
        env={"UPSTREAM_DRAWS": json.dumps(DRAWS)},
    )
    assert drawn == [42, 7]
    call_command("migrate", "sequences", verbosity=0)


@pytest.mark.parametrize(
    ("mariadb", "version", "expected"),
    [
        (True, (10, 5, 0), MARIADB_EXACT),
        (True, (11, 4, 2), MARIADB_EXACT),
        (True, (10, 2, 1), None),
        (False, (8, 0, 11), None),
        (False, (8, 0, 16), None),
        (False, (8, 0, 17), MYSQL_EXACT),
        (False, (8, 4, 0), MYSQL_EXACT),
        (False, (9, 1, 0), MYSQL_EXACT),
    ],
)
def test_exact_collation_by_server_and_version(mariadb, version, expected):
    assert exact_collation(mariadb=mariadb, version=version) == expected


def test_mysql_before_8_0_17_is_refused_with_what_to_do():
    with pytest.raises(ExactMatchingUnavailable) as caught:
        require_exact_collation(mariadb=False, version=(8, 0, 16))
    message = str(caught.value)
    assert "MySQL 8.0.16 has no binary, no-pad utf8mb4 collation" in message
    assert "Upgrade the server to MySQL 8.0.17 or later" in message
    assert isinstance(caught.value, ValueError)


@pytest.mark.django_db
def test_a_new_database_matches_names_exactly(vendor):
    if vendor == "mariadb":
        assert collations() == [MARIADB_EXACT, MARIADB_EXACT]
    assert check_ids() == []
    assert [get_next_value(name) for name in ["invoices", "Invoices", "inv", "inv "]] == [1] * 4
    # Such names are one sequence under 3.1's matching: the check cannot tell a
    # deliberate choice from a split, so it warns (silenceable) on MariaDB/MySQL.
    assert check_ids() == (["sequences.W001"] if vendor == "mariadb" else [])


@pytest.mark.backends("mariadb")
def test_switching_keeps_the_published_matching(switched):
    # Every spelling 3.1 took for one sequence continues it: nothing issued twice.
    assert get_next_value("invoices") == 43
    assert get_next_value("inv ") == 8
    assert get_next_value("INVOICES") == 44
    assert get_next_value("inv") == 9
    assert collations() == [GENERAL_CI, GENERAL_CI]
    assert sorted(Sequence.objects.values_list("name", flat=True)) == ["Invoices", "inv"]
    assert check_ids() == []


@pytest.mark.backends("sqlite", "postgresql")
def test_switching_continues_every_sequence(switched):
    # 3.1 matched names exactly on these backends too: the stored spellings continue.
    assert get_next_value("Invoices") == 43
    assert get_next_value("inv") == 8
    assert check_ids() == []


@pytest.mark.backends("mariadb")
def test_converting_to_exact_lists_names_and_is_audited(switched):
    out, err = call("sequence_collation", "--exact", "--no-input")
    assert out.splitlines() == ["'Invoices'\tlast 42", "'inv'\tlast 7"]
    assert "every caller must use the stored spelling" in err
    assert collations() == [MARIADB_EXACT, MARIADB_EXACT]
    changes = SequenceChange.objects.order_by("sequence_name")
    assert [
        (c.sequence_name, c.action, c.last_before, c.last_after, c.source) for c in changes
    ] == [
        ("Invoices", "collation", 42, 42, "command"),
        ("inv", "collation", 7, 7, "command"),
    ]
    assert all(f"from {GENERAL_CI} to {MARIADB_EXACT}" in c.reason for c in changes)
    # The stored spellings continue; other spellings are new sequences, as agreed.
    assert get_next_value("Invoices") == 43
    assert get_next_value("invoices") == 1
    assert check_ids() == ["sequences.W001"]


@pytest.mark.backends("mariadb")
def test_refused_confirmation_changes_nothing(switched, monkeypatch):
    monkeypatch.setattr("builtins.input", lambda: "no")
    with pytest.raises(CommandError, match="Conversion cancelled; nothing was changed"):
        call("sequence_collation", "--exact")
    assert collations() == [GENERAL_CI, GENERAL_CI]
    assert not SequenceChange.objects.exists()
    assert get_next_value("invoices") == 43


@pytest.mark.backends("mariadb")
def test_no_answer_changes_nothing_and_points_to_no_input(switched, monkeypatch):
    def end_of_input():
        raise EOFError

    monkeypatch.setattr("builtins.input", end_of_input)
    with pytest.raises(CommandError, match="standard input ended before an answer .*--no-input"):
        call("sequence_collation", "--exact")
    assert collations() == [GENERAL_CI, GENERAL_CI]
    assert not SequenceChange.objects.exists()


@pytest.mark.backends("mariadb")
def test_converting_again_changes_nothing(switched):
    call("sequence_collation", "--exact", "--no-input")
    _, err = call("sequence_collation", "--exact", "--no-input")
    assert f"use {MARIADB_EXACT}; nothing changed" in err
    assert SequenceChange.objects.count() == 2


@pytest.mark.backends("mariadb")
def test_status_shows_each_column(switched):
    out, _ = call("sequence_collation")
    assert "sequences_sequence.name: utf8mb4_general_ci (the table's default" in out
    assert "sequences_sequencechange.sequence_name: utf8mb4_general_ci" in out
    assert f"exact matching on this server: {MARIADB_EXACT}" in out


@pytest.fixture
def split_by_old_0004(switched):
    """A switched database that applied the first, unconditional 0004, then drew."""
    for column in name_columns():
        set_column_collation(connection, column, MARIADB_EXACT)
    assert [get_next_value("invoices") for _ in range(3)] == [1, 2, 3]  # the reported bug
    assert get_next_value("inv ") == 1


@pytest.mark.backends("mariadb")
def test_near_duplicates_are_listed_and_warned_about(split_by_old_0004):
    out, _ = call("sequence_collation", "--list-near-duplicates")
    assert out.splitlines() == [
        "group 1 (next value after merging: 43):",
        "  'Invoices'\tlast 42",
        "  'invoices'\tlast 3",
        "group 2 (next value after merging: 8):",
        "  'inv'\tlast 7",
        "  'inv '\tlast 1",
    ]
    [warning] = check_name_collation(databases=["default"])
    assert warning.id == "sequences.W001"
    assert "2 group(s)" in warning.msg and "'Invoices', 'invoices'" in warning.msg


@pytest.mark.backends("mariadb")
def test_back_to_folding_is_refused_while_names_collide(split_by_old_0004):
    with pytest.raises(CommandError, match="would be one sequence: 'Invoices', 'invoices'"):
        call("sequence_collation", "--table-default", "--no-input")
    assert collations() == [MARIADB_EXACT, MARIADB_EXACT]
    assert not SequenceChange.objects.filter(action="collation").exists()


def doc_block(language: str, containing: str) -> str:
    """The fenced block of docs/collation.md in ``language`` that contains ``containing``."""
    blocks = re.findall(rf"^```{language}\n(.*?)^```", DOC.read_text(), re.M | re.S)
    [block] = [block for block in blocks if containing in block]
    return str(block)


@pytest.mark.backends("mariadb")
def test_the_documented_listing_is_what_the_command_prints(split_by_old_0004):
    out, _ = call("sequence_collation", "--list-near-duplicates")
    assert out == doc_block("text", "next value after merging")


@pytest.mark.backends("mariadb")
def test_the_documented_merge_then_folding_issues_nothing_twice(split_by_old_0004):
    namespace: dict[str, Any] = {}
    exec(doc_block("python", "def merge_near_duplicates"), namespace)
    merge = namespace["merge_near_duplicates"]
    merge("Invoices", ["invoices"])
    merge("inv", ["inv "])
    assert sorted(Sequence.objects.values_list("name", "last")) == [("Invoices", 42), ("inv", 7)]
    assert SequenceChange.objects.filter(action="delete").count() == 2
    assert check_ids() == []
    call("sequence_collation", "--table-default", "--no-input")
    assert collations() == [GENERAL_CI, GENERAL_CI]
    assert get_next_value("invoices") == 43
    assert get_next_value("inv ") == 8


@pytest.mark.backends("mariadb")
def test_the_documented_merge_moves_the_survivor_past_every_member(split_by_old_0004):
    namespace: dict[str, Any] = {}
    exec(doc_block("python", "def merge_near_duplicates"), namespace)
    namespace["merge_near_duplicates"]("inv ", ["inv"], reason="keep the spaced spelling")
    assert get_last_value("inv ") == 7
    [reset] = SequenceChange.objects.filter(action="reset")
    assert (reset.sequence_name, reset.last_before, reset.last_after) == ("inv ", 1, 7)
    assert get_next_value("inv ") == 8


@pytest.mark.backends("mariadb")
def test_an_alter_field_that_resets_one_column_is_reported(fresh_tables):
    """A later AlterField (here: a longer name) issues MODIFY without COLLATE."""
    label = Sequence._meta.app_label
    state = MigrationLoader(connection).project_state()
    longer = models.CharField(max_length=120, primary_key=True, serialize=False)
    operation = migrations.AlterField("sequence", "name", longer)
    new_state = state.clone()
    operation.state_forwards(label, new_state)
    with connection.schema_editor() as editor:
        operation.database_forwards(label, editor, state, new_state)
    assert collations() == [GENERAL_CI, MARIADB_EXACT]
    [error] = check_name_collation(databases=["default"])
    assert error.id == "sequences.E001"
    assert "uses collation utf8mb4_general_ci but sequences_sequencechange" in error.msg
    call("sequence_collation", "--exact", "--no-input")
    assert collations() == [MARIADB_EXACT, MARIADB_EXACT]
    assert check_ids() == []


@pytest.mark.backends("mariadb")
def test_a_collation_that_an_alter_would_lose_is_reported(fresh_tables):
    for column in name_columns():
        set_column_collation(connection, column, "utf8mb4_bin")
    [warning] = check_name_collation(databases=["default"])
    assert warning.id == "sequences.W002"
    assert "neither exact matching nor the table's default (utf8mb4_general_ci)" in warning.msg


@pytest.mark.backends("mariadb")
def test_an_unknown_collation_is_refused_before_any_change(fresh_tables):
    with pytest.raises(CommandError, match="'klingon_ci' is not a utf8mb4 collation"):
        call("sequence_collation", "--table-default", "--collation", "klingon_ci")
    assert collations() == [MARIADB_EXACT, MARIADB_EXACT]


@pytest.mark.backends("sqlite", "postgresql")
@pytest.mark.django_db
def test_other_backends_have_nothing_to_convert():
    get_next_value("Invoices")
    out, err = call("sequence_collation", "--exact", "--no-input")
    assert out == ""
    assert "compares sequence names exactly" in err
    assert not SequenceChange.objects.exists()


@pytest.mark.backends("mariadb")
@pytest.mark.django_db
def test_a_folding_collation_with_exact_is_refused():
    with pytest.raises(CommandError, match="applies to --list-near-duplicates and"):
        call("sequence_collation", "--exact", "--collation", "utf8mb4_general_ci")
    assert collations() == [MARIADB_EXACT, MARIADB_EXACT]


@pytest.mark.backends("mariadb")
def test_converting_waits_for_a_transaction_that_drew(switched):
    """The ALTER waits for an open draw; the drawn value stays the holder's, once."""
    drew, release = threading.Event(), threading.Event()
    results: dict[str, Any] = {}

    def hold() -> None:
        try:
            with transaction.atomic():
                results["held"] = get_next_value("invoices")
                drew.set()
                assert release.wait(60)
        finally:
            connections.close_all()

    def convert() -> None:
        try:
            results["convert"] = call("sequence_collation", "--exact", "--no-input")
        except BaseException as exc:  # reported by the assertions below
            results["convert"] = exc
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    assert drew.wait(30)
    converter = threading.Thread(target=convert)
    converter.start()
    try:
        waiting = False
        for _ in range(300):  # the ALTER is queued behind the holder's transaction
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                    "WHERE STATE LIKE %s AND INFO LIKE %s",
                    ["Waiting for table metadata lock", "ALTER TABLE%"],
                )
                waiting = cursor.fetchone()[0] > 0
            if waiting:
                break
            time.sleep(0.1)
        assert waiting and converter.is_alive()
    finally:
        release.set()
        holder.join(60)
        converter.join(120)
    assert results["held"] == 43
    assert isinstance(results["convert"], tuple), results["convert"]
    assert collations() == [MARIADB_EXACT, MARIADB_EXACT]
    assert get_next_value("Invoices") == 44


@pytest.mark.backends("mariadb")
def test_a_table_default_of_another_charset_folds_as_general_ci(fresh_tables):
    with connection.cursor() as cursor:
        table = connection.ops.quote_name(Sequence._meta.db_table)
        cursor.execute(f"ALTER TABLE {table} DEFAULT CHARSET latin1")
    get_next_value("Invoices")
    get_next_value("invoices")
    [warning] = check_name_collation(databases=["default"])
    assert warning.id == "sequences.W001"
    assert "one sequence under utf8mb4_general_ci" in warning.msg


@pytest.mark.backends("mariadb")
def test_the_documented_check_command_fails_on_near_duplicates(split_by_old_0004, capsys):
    argv = ["check", "--database", "default", "--tag", "database", "--fail-level", "WARNING"]
    code, _, err = run_cli(capsys, *argv)
    assert code == 1
    assert "sequences.W001" in err
    out, _ = call("sequence_collation", "--list-near-duplicates")
    assert "'invoices'" in out


@pytest.mark.backends("mariadb")
def test_the_documented_check_command_passes_on_a_switched_database(switched, capsys):
    argv = ["check", "--database", "default", "--tag", "database", "--fail-level", "WARNING"]
    assert run_cli(capsys, *argv)[0] == 0
