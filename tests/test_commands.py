"""The sequence_* management commands, through call_command and the real command line."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError

from sequences import get_last_value, get_next_value, reset_sequence
from sequences.models import SequenceChange
from sequences.validation import MAX_VALUE

from .command_utils import call, run_cli

ROOT = Path(__file__).resolve().parent.parent
ROUTER = "tests.command_utils.SequencesOnOther"
NAMES_THAT_ARE_DATA = [
    'it\'s "quoted"',
    "spaces  and\ttabs",
    "a=b",
    "--looks-like-an-option",
    "ünïcødé 名前",
    "x'); DROP TABLE sequences_sequence; --",
    "<script>alert(1)</script>",
    "x" * 100,
]


@pytest.fixture(autouse=True)
def operator(monkeypatch):
    """The OS user that the audit trail records (getpass reads LOGNAME first)."""
    monkeypatch.setenv("LOGNAME", "alice")


def changes(name, using="default"):
    return list(
        SequenceChange.objects.using(using)
        .filter(sequence_name=name)
        .order_by("id")
        .values(
            "action", "source", "username", "last_before", "last_after", "reason", "allow_reuse"
        )
    )


def command_error(*args, **options):
    with pytest.raises(CommandError) as info:
        call(*args, **options)
    return str(info.value)


# sequence_init


def test_init_makes_the_next_value_the_initial_value(in_transaction):
    call("sequence_init", "customers", "--initial", "1000")
    assert get_next_value("customers") == 1000


def test_init_records_an_init_change_from_the_command(in_transaction):
    call("sequence_init", "customers", "--initial", "1000")
    assert changes("customers") == [
        {
            "action": "init",
            "source": "command",
            "username": "alice (manage.py)",
            "last_before": None,
            "last_after": 999,
            "reason": "",
            "allow_reuse": False,
        }
    ]


def test_init_reports_on_stderr_and_prints_no_data(in_transaction):
    out, err = call("sequence_init", "customers", "--initial", "1000")
    assert out == ""
    assert err == "Created sequence 'customers' on database 'default': its next value is 1000.\n"


def test_init_at_verbosity_0_says_nothing(in_transaction):
    assert call("sequence_init", "customers", "--initial", "7", verbosity=0) == ("", "")
    assert get_last_value("customers") == 6


def test_init_of_a_sequence_already_in_that_state_succeeds_without_change(in_transaction):
    call("sequence_init", "customers", "--initial", "1000")
    out, err = call("sequence_init", "customers", "--initial", "1000")
    assert err == (
        "Sequence 'customers' on database 'default' already exists with next value 1000; "
        "nothing changed.\n"
    )
    assert len(changes("customers")) == 1


def test_init_of_a_sequence_in_another_state_fails_and_points_to_reset(in_transaction):
    get_next_value("customers")
    get_next_value("customers")
    message = command_error("sequence_init", "customers", "--initial", "1000")
    assert message == (
        "Sequence 'customers' already exists on database 'default' with last value 2 "
        "(next value 3), not next value 1000. To change it, run: manage.py sequence_reset "
        "customers --next 1000 --reason '...'"
    )
    assert get_last_value("customers") == 2
    assert changes("customers") == []


def test_init_below_the_current_value_suggests_a_reset_with_allow_reuse_and_warns(in_transaction):
    call("sequence_next", "customers", "--count", "1002")
    message = command_error("sequence_init", "customers", "--initial", "1000")
    assert message == (
        "Sequence 'customers' already exists on database 'default' with last value 1002 "
        "(next value 1003), not next value 1000. Moving it back to next value 1000 would "
        "hand out 1000 to 1002 again (numbers already issued: duplicates). If that is "
        "really meant, run: manage.py sequence_reset customers --next 1000 --allow-reuse "
        "--reason '...'"
    )
    assert get_last_value("customers") == 1002
    assert changes("customers") == []


@pytest.mark.parametrize(("initial", "reuse"), [("1000", True), ("1", True), ("5000", False)])
def test_the_reset_that_init_suggests_runs(in_transaction, initial, reuse):
    call("sequence_next", "customers", "--count", "1002")
    message = command_error("sequence_init", "customers", "--initial", initial)
    suggested = shlex.split(message.split("run: manage.py ", 1)[1])
    assert ("--allow-reuse" in suggested) is reuse

    call(*[arg.replace("...", "year end") for arg in suggested], "--no-input")

    assert get_next_value("customers") == int(initial)


def test_init_suggestion_quotes_the_name_for_the_shell(in_transaction):
    get_next_value("it's mine")
    message = command_error("sequence_init", "it's mine", "--initial", "5")
    assert message.endswith("sequence_reset 'it'\"'\"'s mine' --next 5 --reason '...'")


def test_init_refuses_0_and_says_what_to_do_instead(in_transaction):
    message = command_error("sequence_init", "zero", "--initial", "0")
    assert message == (
        "--initial 0 cannot be stored: the table keeps the last value handed out, which is "
        "never negative, so the smallest next value it can hold is 1. For a sequence that "
        "starts at 0, do not create it beforehand: get_next_value(NAME, initial_value=0) "
        "creates it and returns 0 (from the shell: sequence_next NAME --initial 0)."
    )
    assert get_last_value("zero") is None


@pytest.mark.parametrize(
    ("value", "shown"), [("-1", "-1"), ("abc", "'abc'"), ("1.5", "'1.5'"), ("", "''")]
)
def test_init_refuses_a_value_that_is_not_a_non_negative_integer(in_transaction, value, shown):
    message = command_error("sequence_init", "customers", "--initial", value)
    assert message == f"--initial must be an integer from 0 to {MAX_VALUE}, got {shown}."


def test_init_refuses_a_value_beyond_the_largest_storable_one(in_transaction):
    message = command_error("sequence_init", "customers", "--initial", str(MAX_VALUE + 1))
    assert message == f"--initial must be an integer from 0 to {MAX_VALUE}, got {MAX_VALUE + 1}."


def test_init_accepts_the_largest_storable_value(in_transaction):
    call("sequence_init", "big", "--initial", str(MAX_VALUE))
    assert get_last_value("big") == MAX_VALUE - 1


def test_init_accepts_an_int_from_call_command(in_transaction):
    call("sequence_init", "customers", initial=42)
    assert get_last_value("customers") == 41


def test_init_requires_initial(in_transaction):
    message = command_error("sequence_init", "customers")
    assert message == "Error: the following arguments are required: --initial"


def test_init_on_another_database(in_transaction):
    call("sequence_init", "customers", "--initial", "10", "--database", "other")
    assert get_last_value("customers", using="other") == 9
    assert get_last_value("customers", using="default") is None
    assert changes("customers", using="other")[0]["last_after"] == 9


def test_init_uses_the_routers_write_database(in_transaction, settings):
    settings.DATABASE_ROUTERS = [ROUTER]
    out, err = call("sequence_init", "customers", "--initial", "10")
    assert get_last_value("customers", using="other") == 9
    assert get_last_value("customers", using="default") is None
    assert "on database 'other'" in err


# sequence_next


def test_next_prints_the_next_value(in_transaction):
    assert call("sequence_next", "orders") == ("1\n", "")
    assert call("sequence_next", "orders") == ("2\n", "")


def test_next_prints_count_values_one_a_line(in_transaction):
    assert call("sequence_next", "orders", "--count", "3")[0] == "1\n2\n3\n"
    assert get_last_value("orders") == 3


def test_next_creates_the_sequence_at_initial(in_transaction):
    assert call("sequence_next", "orders", "--initial", "100", "--count", "2")[0] == "100\n101\n"


def test_next_supports_initial_0(in_transaction):
    assert call("sequence_next", "from zero", "--initial", "0")[0] == "0\n"
    assert get_next_value("from zero", initial_value=0) == 1


def test_next_ignores_initial_for_an_existing_sequence(in_transaction):
    call("sequence_init", "orders", "--initial", "50")
    assert call("sequence_next", "orders", "--initial", "7")[0] == "50\n"


def test_next_commits_the_values_it_draws(transactional_db):
    """Autocommit mode only: the point is that nothing is left uncommitted."""
    from django.db import connection

    call("sequence_next", "orders", "--count", "2")
    assert not connection.in_atomic_block
    assert get_next_value("orders") == 3


def test_next_at_verbosity_2_reports_on_stderr(in_transaction):
    out, err = call("sequence_next", "orders", "--count", "2", verbosity=2)
    assert out == "1\n2\n"
    assert err == "Drew 2 value(s) of sequence 'orders' on database 'default'.\n"


@pytest.mark.parametrize(("value", "shown"), [("0", "0"), ("-2", "-2"), ("two", "'two'")])
def test_next_refuses_a_count_below_1(in_transaction, value, shown):
    message = command_error("sequence_next", "orders", "--count", value)
    assert message == f"--count must be an integer from 1 to {MAX_VALUE}, got {shown}."
    assert get_last_value("orders") is None


def test_next_refuses_a_negative_initial(in_transaction):
    message = command_error("sequence_next", "orders", "--initial", "-1")
    assert message == f"--initial must be an integer from 0 to {MAX_VALUE}, got -1."


def test_next_refuses_values_beyond_the_largest_storable_one(in_transaction):
    message = command_error("sequence_next", "orders", "--initial", str(MAX_VALUE), "--count", "2")
    assert message == (
        f"initial_value + batch_size - 1 must be at most {MAX_VALUE}, got {MAX_VALUE + 1}"
    )


def test_next_reports_an_overflowing_sequence(in_transaction):
    reset_sequence("full", MAX_VALUE + 0, expected_last=None, reason="test")
    assert call("sequence_next", "full")[0] == f"{MAX_VALUE}\n"
    message = command_error("sequence_next", "full")
    assert message.startswith("Sequence 'full' on database 'default' cannot go past")
    assert get_last_value("full") == MAX_VALUE


def test_next_on_another_database(in_transaction):
    call("sequence_next", "orders", "--database", "other")
    assert get_last_value("orders", using="other") == 1
    assert get_last_value("orders", using="default") is None


def test_next_uses_the_routers_write_database(in_transaction, settings):
    settings.DATABASE_ROUTERS = [ROUTER]
    call("sequence_next", "orders")
    assert get_last_value("orders", using="other") == 1
    assert get_last_value("orders", using="default") is None


# sequence_show


def test_show_lists_every_sequence_sorted_by_name(in_transaction):
    get_next_values_of = {"b": 3, "a": 12, "c": 1}
    for name, count in get_next_values_of.items():
        call("sequence_next", name, "--count", str(count))
    out, err = call("sequence_show")
    assert out == (
        "NAME  LAST  NEXT  LAST CHANGE\n"
        "a       12    13  -\n"
        "b        3     4  -\n"
        "c        1     2  -\n"
    )
    assert err == ""


def test_show_lists_the_named_sequences_in_the_order_given(in_transaction):
    for name in ("a", "b", "c"):
        get_next_value(name)
    out, _ = call("sequence_show", "c", "a")
    assert [line.split()[0] for line in out.splitlines()] == ["NAME", "c", "a"]


def test_show_gives_the_last_audited_change(in_transaction):
    call("sequence_init", "customers", "--initial", "10")
    call("sequence_reset", "customers", "--next", "20", "--reason", "skip", "--no-input")
    change = SequenceChange.objects.get(sequence_name="customers", action="reset")
    out, _ = call("sequence_show", "customers")
    when = change.created_at.isoformat(sep=" ", timespec="seconds")
    assert out.splitlines()[1] == (
        f"customers    19    20  reset {when} (command, alice (manage.py))"
    )


def test_show_json_is_the_documented_document(in_transaction):
    call("sequence_init", "customers", "--initial", "10")
    get_next_value("plain")
    change = SequenceChange.objects.get(sequence_name="customers")
    out, _ = call("sequence_show", "--format", "json")
    assert json.loads(out) == {
        "database": "default",
        "sequences": [
            {
                "name": "customers",
                "last": 9,
                "next": 10,
                "last_change": {
                    "action": "init",
                    "source": "command",
                    "at": change.created_at.isoformat(),
                    "username": "alice (manage.py)",
                    "last_before": None,
                    "last_after": 9,
                    "allow_reuse": False,
                    "reason": "",
                },
            },
            {"name": "plain", "last": 1, "next": 2, "last_change": None},
        ],
    }


def test_show_json_is_indented_with_keys_in_documented_order(in_transaction):
    get_next_value("plain")
    out, _ = call("sequence_show", "--format", "json")
    assert out == (
        "{\n"
        '  "database": "default",\n'
        '  "sequences": [\n'
        "    {\n"
        '      "name": "plain",\n'
        '      "last": 1,\n'
        '      "next": 2,\n'
        '      "last_change": null\n'
        "    }\n"
        "  ]\n"
        "}\n"
    )


def test_show_json_of_no_sequences_is_an_empty_list(in_transaction):
    out, err = call("sequence_show", "--format", "json")
    assert json.loads(out) == {"database": "default", "sequences": []}
    assert err == ""


def test_show_table_of_no_sequences_says_so_on_stderr(in_transaction):
    assert call("sequence_show") == ("", "No sequences on database 'default'.\n")


def test_show_of_the_largest_value_has_no_next_value(in_transaction):
    reset_sequence("full", MAX_VALUE, expected_last=None, reason="test")
    get_next_value("full")
    out, _ = call("sequence_show", "full")
    assert (
        out.splitlines()[1] == f"full  {MAX_VALUE}     -  reset " + out.split(" reset ")[1].strip()
    )
    document = json.loads(call("sequence_show", "full", "--format", "json")[0])
    assert document["sequences"][0]["next"] is None


def test_show_of_a_missing_name_is_an_error_that_names_it(in_transaction):
    get_next_value("present")
    message = command_error("sequence_show", "present", "absent")
    assert message == "Sequence not found on database 'default': 'absent'."


def test_show_of_several_missing_names_names_them_all(in_transaction):
    message = command_error("sequence_show", "gone", "absent", "gone")
    assert message == "Sequences not found on database 'default': 'gone', 'absent'."


def test_show_table_writes_awkward_names_as_python_literals(in_transaction):
    for name in ("line\nbreak", " padded ", "ok name"):
        get_next_value(name)
    out, _ = call("sequence_show")
    assert [line.split("  ")[0] for line in out.splitlines()[1:]] == [
        "' padded '",
        "'line\\nbreak'",
        "ok name",
    ]


def test_show_refuses_an_unknown_format(in_transaction):
    message = command_error("sequence_show", "--format", "xml")
    assert message == (
        "Error: argument --format: invalid choice: 'xml' (choose from 'table', 'json')"
    )


def test_show_at_verbosity_2_names_the_database_on_stderr(in_transaction):
    get_next_value("a")
    out, err = call("sequence_show", verbosity=2)
    assert out.startswith("NAME")
    assert err == "Database 'default'.\n"


def test_show_on_another_database(in_transaction):
    get_next_value("here")
    get_next_value("there", using="other")
    out, _ = call("sequence_show", "--database", "other", "--format", "json")
    assert [s["name"] for s in json.loads(out)["sequences"]] == ["there"]


def test_show_uses_the_routers_read_database(in_transaction, settings):
    get_next_value("there", using="other")
    settings.DATABASE_ROUTERS = [ROUTER]
    out, _ = call("sequence_show", "--format", "json")
    assert json.loads(out)["database"] == "other"
    assert [s["name"] for s in json.loads(out)["sequences"]] == ["there"]


# sequence_reset


def test_reset_without_input_moves_the_sequence(in_transaction):
    call("sequence_init", "invoices", "--initial", "10")
    out, err = call(
        "sequence_reset", "invoices", "--next", "500", "--reason", "new year", "--no-input"
    )
    assert get_next_value("invoices") == 500
    assert out == ""
    assert (
        err == "Reset sequence 'invoices' on database 'default': its next value is 500 (was 10).\n"
    )


@pytest.mark.parametrize("spelling", ["--noinput", "--no-input"])
def test_reset_takes_both_spellings_of_noinput_as_django_commands_do(in_transaction, spelling):
    call("sequence_init", "invoices", "--initial", "10")
    call("sequence_reset", "invoices", "--next", "500", "--reason", "new year", spelling)
    assert get_next_value("invoices") == 500


def test_reset_help_shows_both_spellings_of_noinput(capsys):
    code, out, _ = run_cli(capsys, "sequence_reset", "--help")
    assert code == 0
    assert "--noinput, --no-input" in out
    assert "[--noinput]" in out  # the usage line, as Django's own commands show it


def test_reset_records_a_reset_with_the_reason_and_the_operator(in_transaction):
    call("sequence_init", "invoices", "--initial", "10")
    call("sequence_reset", "invoices", "--next", "500", "--reason", "new year", "--no-input")
    assert changes("invoices")[-1] == {
        "action": "reset",
        "source": "command",
        "username": "alice (manage.py)",
        "last_before": 9,
        "last_after": 499,
        "reason": "new year",
        "allow_reuse": False,
    }


def test_reset_back_without_allow_reuse_is_refused(in_transaction):
    call("sequence_next", "invoices", "--count", "10")
    message = command_error(
        "sequence_reset", "invoices", "--next", "4", "--reason", "oops", "--no-input"
    )
    assert message == (
        "Moving sequence 'invoices' back to next value 4 would hand out 4 to 10 again; "
        "pass --allow-reuse if that is really meant."
    )
    assert get_last_value("invoices") == 10


def test_reset_back_with_allow_reuse_hands_values_out_again(in_transaction):
    call("sequence_next", "invoices", "--count", "10")
    call(
        "sequence_reset", "invoices", "--next", "10", "--reason", "voided 10",
        "--allow-reuse", "--no-input",
    )  # fmt: skip
    assert get_next_value("invoices") == 10
    assert changes("invoices")[-1]["allow_reuse"] is True


def test_reset_to_the_current_next_value_changes_nothing(in_transaction):
    call("sequence_init", "invoices", "--initial", "10")
    out, err = call("sequence_reset", "invoices", "--next", "10", "--reason", "x", "--no-input")
    assert err == (
        "Sequence 'invoices' on database 'default' already has next value 10; nothing changed.\n"
    )
    assert len(changes("invoices")) == 1


def test_reset_of_a_missing_sequence_points_to_init(in_transaction):
    message = command_error("sequence_reset", "nope", "--next", "5", "--reason", "x", "--no-input")
    assert message == (
        "Sequence 'nope' does not exist on database 'default'. To create it, run: "
        "manage.py sequence_init nope --initial 5"
    )
    assert get_last_value("nope") is None


@pytest.mark.parametrize("reason", ["", "   "])
def test_reset_requires_a_reason_that_says_something(in_transaction, reason):
    get_next_value("invoices")
    message = command_error(
        "sequence_reset", "invoices", "--next", "5", "--reason", reason, "--no-input"
    )
    assert message == (
        "--reason must say why the sequence changes (it is kept in the audit trail); "
        "got an empty reason."
    )


def test_reset_requires_next_and_reason(in_transaction):
    message = command_error("sequence_reset", "invoices")
    assert message == "Error: the following arguments are required: --next, --reason"


@pytest.mark.parametrize(("value", "shown"), [("0", "0"), ("-3", "-3"), ("ten", "'ten'")])
def test_reset_refuses_a_next_value_below_1(in_transaction, value, shown):
    get_next_value("invoices")
    message = command_error(
        "sequence_reset", "invoices", "--next", value, "--reason", "x", "--no-input"
    )
    assert message == f"--next must be an integer from 1 to {MAX_VALUE}, got {shown}."


def test_reset_asks_and_goes_ahead_on_yes(in_transaction, monkeypatch):
    call("sequence_next", "invoices", "--count", "10")
    monkeypatch.setattr("builtins.input", lambda: "yes")
    out, err = call("sequence_reset", "invoices", "--next", "8", "--reason", "r", "--allow-reuse")
    assert err == (
        "Sequence 'invoices' on database 'default': last value 10, next value 11.\n"
        "After the reset, its next value will be 8.\n"
        "Values 8 to 10 will be handed out again.\n"
        "Type 'yes' to reset it: "
        "Reset sequence 'invoices' on database 'default': its next value is 8 (was 11).\n"
    )
    assert get_last_value("invoices") == 7


@pytest.mark.parametrize("answer", ["no", "", "y"])
def test_reset_asks_and_cancels_on_anything_but_yes(in_transaction, monkeypatch, answer):
    get_next_value("invoices")
    monkeypatch.setattr("builtins.input", lambda: answer)
    message = command_error("sequence_reset", "invoices", "--next", "50", "--reason", "r")
    assert message == "Reset cancelled; nothing was changed."
    assert get_last_value("invoices") == 1
    assert changes("invoices") == []


NO_ANSWER = (
    "Reset not done: standard input ended before an answer to confirm with was read; "
    "nothing was changed. To reset without confirmation (in a script), pass --no-input."
)


def test_reset_without_an_answer_says_so_and_points_to_no_input(in_transaction, monkeypatch):
    get_next_value("invoices")

    def end_of_input():
        raise EOFError

    monkeypatch.setattr("builtins.input", end_of_input)
    message = command_error("sequence_reset", "invoices", "--next", "50", "--reason", "r")
    assert message == NO_ANSWER
    assert get_last_value("invoices") == 1
    assert changes("invoices") == []


def manage(*argv, **run):
    """``manage.py *argv`` in a new process, on this run's test database (committed data only)."""
    env = {**os.environ, "SEQUENCES_TEST_DB_PREFIX": f"test_{settings.PREFIX}"}
    return subprocess.run(
        [sys.executable, "manage.py", *argv], capture_output=True, text=True, cwd=ROOT,
        env=env, timeout=120, check=False, **run,
    )  # fmt: skip


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_reset_with_standard_input_closed_says_there_was_no_answer():
    get_next_value("invoices")

    result = manage(
        "sequence_reset", "invoices", "--next", "50", "--reason", "r", stdin=subprocess.DEVNULL
    )

    assert result.returncode == 1
    assert result.stderr.endswith(f"Type 'yes' to reset it: \nCommandError: {NO_ANSWER}\n")
    assert get_last_value("invoices") == 1
    assert changes("invoices") == []


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_reset_takes_an_answer_piped_on_standard_input():
    get_next_value("invoices")

    result = manage("sequence_reset", "invoices", "--next", "50", "--reason", "r", input="yes\n")

    assert result.returncode == 0, result.stderr
    assert get_last_value("invoices") == 49


def test_reset_refuses_when_the_sequence_moved_after_the_question(in_transaction, monkeypatch):
    get_next_value("invoices")

    def draw_while_asking():
        get_next_value("invoices")
        return "yes"

    monkeypatch.setattr("builtins.input", draw_while_asking)
    message = command_error("sequence_reset", "invoices", "--next", "50", "--reason", "r")
    assert message == (
        "Sequence 'invoices' changed since it was read: expected last value 1, found 2. "
        "Read it again and retry; nothing was changed."
    )
    assert get_last_value("invoices") == 2


def test_reset_on_another_database(in_transaction):
    get_next_value("invoices", using="other")
    call(
        "sequence_reset", "invoices", "--next", "9", "--reason", "r", "--no-input",
        "--database", "other",
    )  # fmt: skip
    assert get_last_value("invoices", using="other") == 8
    assert changes("invoices", using="other")[0]["action"] == "reset"


# Shared behaviour

EVERY_COMMAND = [
    ("sequence_init", "NAME", "--initial", "5"),
    ("sequence_next", "NAME"),
    ("sequence_show", "NAME"),
    ("sequence_reset", "NAME", "--next", "5", "--reason", "r", "--no-input"),
]


def _with_name(argv, name):
    return [name if arg == "NAME" else arg for arg in argv]


@pytest.mark.parametrize("argv", EVERY_COMMAND, ids=lambda argv: argv[0])
def test_every_command_refuses_an_unknown_database_alias(in_transaction, argv):
    message = command_error(*_with_name(argv, "x"), "--database", "nope")
    assert (
        message == "Unknown database alias 'nope'; the configured aliases are 'default', 'other'."
    )


@pytest.mark.parametrize("argv", EVERY_COMMAND, ids=lambda argv: argv[0])
def test_every_command_refuses_a_name_over_100_characters(in_transaction, argv):
    message = command_error(*_with_name(argv, "n" * 101))
    assert message == (
        "Invalid sequence name: sequence_name must be 1 to 100 characters long, got 101."
    )


@pytest.mark.parametrize("argv", EVERY_COMMAND, ids=lambda argv: argv[0])
def test_every_command_refuses_an_empty_name(in_transaction, argv):
    message = command_error(*_with_name(argv, ""))
    assert (
        message == "Invalid sequence name: sequence_name must be 1 to 100 characters long, got 0."
    )


@pytest.mark.parametrize("name", NAMES_THAT_ARE_DATA, ids=range(len(NAMES_THAT_ARE_DATA)))
def test_names_are_data_for_every_command(in_transaction, name):
    """Options first, then ``--``: a name may even look like an option."""
    call("sequence_init", "--initial", "5", "--", name)
    assert call("sequence_next", "--", name)[0] == "5\n"
    call("sequence_reset", "--next", "9", "--reason", "r", "--no-input", "--", name)
    document = json.loads(call("sequence_show", "--format", "json", "--", name)[0])
    assert [(s["name"], s["next"]) for s in document["sequences"]] == [(name, 9)]
    assert get_next_value(name) == 9


# The command line: exit codes, stdout and stderr


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_cli_success_exits_0_with_data_on_stdout(capsys):
    """Autocommit only: the command line closes every connection when it ends."""
    assert run_cli(capsys, "sequence_next", "orders", "--count", "2") == (0, "1\n2\n", "")


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_cli_user_error_exits_1_with_the_message_on_stderr(capsys):
    assert run_cli(capsys, "sequence_show", "absent") == (
        1,
        "",
        "CommandError: Sequence not found on database 'default': 'absent'.\n",
    )


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_cli_bad_value_exits_1(capsys):
    code, out, err = run_cli(capsys, "sequence_init", "c", "--initial", "-4")
    assert (code, out) == (1, "")
    assert err == f"CommandError: --initial must be an integer from 0 to {MAX_VALUE}, got -4.\n"


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_cli_usage_error_exits_2(capsys):
    code, out, err = run_cli(capsys, "sequence_reset", "invoices", "--next", "5")
    assert (code, out) == (2, "")
    assert err.endswith("sequence_reset: error: the following arguments are required: --reason\n")


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_cli_names_may_look_like_options_after_a_double_dash(capsys):
    code, out, _ = run_cli(capsys, "sequence_next", "--", "--weird")
    assert (code, out) == (0, "1\n")
    assert get_last_value("--weird") == 1


@pytest.mark.parametrize(("value", "shown"), [(True, "True"), (1.5, "1.5"), (None, "None")])
def test_integer_options_from_call_command_must_be_ints(in_transaction, value, shown):
    message = command_error("sequence_init", "customers", initial=value)
    assert message == f"--initial must be an integer from 0 to {MAX_VALUE}, got {shown}."


def test_the_audit_names_an_unknown_os_user_as_unknown(in_transaction, monkeypatch):
    def no_login_name():
        raise OSError("no username set in the environment")

    monkeypatch.setattr("getpass.getuser", no_login_name)
    call("sequence_init", "customers", "--initial", "3")
    assert changes("customers")[0]["username"] == "unknown (manage.py)"
