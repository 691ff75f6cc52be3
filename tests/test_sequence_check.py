"""``manage.py sequence_check``: the numbers in a document table against their sequences."""

from __future__ import annotations

import datetime
import json
import math
import multiprocessing
import random
import time

import pytest
from django.core.management import CommandError
from django.db import connections, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from sequences import NumberSeries, get_last_value, reset_sequence
from sequences import check as check_module
from sequences.check import check_sequence, check_series, compress
from sequences.models import Sequence, SequenceChange
from tests.testapp.models import Document

from .command_utils import call

INVOICES = NumberSeries("inv", format="INV-{year}-{value:04d}", period="year")
NOT_A_SERIES = "INV-{year}"
TARGET = "testapp.Document.number"
SERIES_TARGET = "testapp.Document.reference"


def documents(*numbers, kind="", using="default"):
    Document.objects.using(using).bulk_create(
        [Document(number=number, kind=kind) for number in numbers]
    )


def references(*texts):
    Document.objects.bulk_create([Document(reference=text) for text in texts])


def sequence(name, last, using="default"):
    """A sequence at ``last``, made without an audit record (as draws would leave it)."""
    Sequence.objects.using(using).create(name=name, last=last)


def run(*args):
    """Run the command: (exit status, stdout, stderr); usage errors raise CommandError."""
    try:
        out, err = call("sequence_check", *args)
    except SystemExit as exc:
        return exc.code, "", ""
    return 0, out, err


def run_json(*args):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    code: object = 0
    try:
        call_command("sequence_check", *args, "--format", "json", stdout=out, stderr=StringIO())
    except SystemExit as exc:
        code = exc.code
    return code, json.loads(out.getvalue())


def usage_error(*args):
    with pytest.raises(CommandError) as raised:
        call("sequence_check", *args)
    assert raised.value.returncode == 2
    return str(raised.value)


def test_compress():
    assert compress([(4, 4), (6, 8)]) == "4, 6-8"
    assert compress([]) == ""


# --sequence


def test_clean_table_exits_zero(in_transaction):
    documents(1, 2, 3, 4, 5)
    sequence("s", 5)
    code, out, _ = run(TARGET, "--sequence", "s")
    assert code == 0
    assert "Clean" in out


def test_every_kind_of_finding(in_transaction):
    documents(1, 2, 3, 5, 5, 9, 10, 13, None)
    sequence("s", 12)
    code, report = run_json(TARGET, "--sequence", "s")
    assert code == 1
    assert (report["rows"], report["null"], report["clean"]) == (9, 1, False)
    (found,) = report["sequences"]
    assert found["missing"] == {"count": 6, "ranges": ["4", "6-8", "11-12"], "truncated": False}
    assert found["duplicates"]["values"] == [{"value": 5, "documents": 2}]
    assert found["duplicates"]["count"] == 1
    assert found["ahead"] == {"count": 1, "values": [13], "truncated": False}
    assert (found["start"], found["last"], found["documents"], found["highest"]) == (1, 12, 8, 13)
    assert report["findings"] == 6 + 1 + 1


def test_table_output_lists_each_kind(in_transaction):
    documents(1, 2, 3, 5, 5, 9, 10, 13)
    sequence("s", 12)
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    with pytest.raises(SystemExit):
        call_command("sequence_check", TARGET, "--sequence", "s", stdout=out, stderr=StringIO())
    text = out.getvalue()
    assert "missing (6): 4, 6-8, 11-12" in text
    assert "duplicates (1): 5 (2 documents)" in text
    assert "AHEAD of the sequence (1 document;" in text
    assert "8 findings." in text


def test_table_output_is_the_documented_one(transactional_db):
    import re
    from io import StringIO
    from pathlib import Path

    from django.core.management import call_command

    docs = (Path(__file__).resolve().parent.parent / "docs" / "numbering.md").read_text()
    (documented,) = re.findall(r"```\n(testapp\.Document\.number .*?)```", docs, flags=re.S)
    documents(1, 2, 3, 5, 5, 9, 10, 13, None)
    sequence("s", 12)
    out = StringIO()
    with pytest.raises(SystemExit):
        call_command("sequence_check", TARGET, "--sequence", "s", stdout=out, stderr=StringIO())
    assert out.getvalue() == documented


def test_gaps_at_both_ends_and_no_documents(in_transaction):
    sequence("s", 4)
    code, report = run_json(TARGET, "--sequence", "s", "--start", "1")
    assert code == 1
    assert report["sequences"][0]["missing"]["ranges"] == ["1-4"]
    documents(3)
    code, report = run_json(TARGET, "--sequence", "s", "--start", "1")
    assert report["sequences"][0]["missing"]["ranges"] == ["1-2", "4"]


def test_start_defaults_to_the_lowest_number(in_transaction):
    documents(1000, 1001, 1003)
    sequence("s", 1003)
    _, report = run_json(TARGET, "--sequence", "s")
    assert report["sequences"][0]["start"] == 1000
    assert report["sequences"][0]["missing"]["ranges"] == ["1002"]
    _, report = run_json(TARGET, "--sequence", "s", "--start", "998")
    assert report["sequences"][0]["missing"]["ranges"] == ["998-999", "1002"]
    _, report = run_json(TARGET, "--sequence", "s", "--start", "1001")
    assert report["sequences"][0]["below_start"] == 1
    assert report["sequences"][0]["missing"]["ranges"] == ["1002"]


def test_filter_restricts_the_documents(in_transaction):
    documents(1, 2, 3, kind="a")
    documents(1, 3, kind="b")
    sequence("s", 3)
    assert run(TARGET, "--sequence", "s", "--filter", "kind=a")[0] == 0
    code, report = run_json(TARGET, "--sequence", "s", "--filter", "kind=b", "--start", "1")
    assert code == 1
    assert report["filters"] == {"kind": "b"}
    assert report["sequences"][0]["missing"]["ranges"] == ["2"]
    code, report = run_json(TARGET, "--sequence", "s", "--filter", "kind=a", "--filter", "id=0")
    assert report["rows"] == 0


def test_limit_caps_lists_but_not_counts(in_transaction):
    documents(*range(1, 42, 2), 50, 50, 51, 51, 52, 52)
    sequence("s", 45)
    _, report = run_json(TARGET, "--sequence", "s", "--limit", "3")
    found = report["sequences"][0]
    assert found["missing"] == {
        "count": 20 + 4,
        "ranges": ["2", "4", "6"],
        "truncated": True,
    }
    assert found["ahead"] == {"count": 6, "values": [50, 51, 52], "truncated": False}
    assert found["duplicates"]["count"] == 3
    _, report = run_json(TARGET, "--sequence", "s", "--limit", "2")
    assert report["sequences"][0]["ahead"]["truncated"] is True
    assert report["sequences"][0]["duplicates"]["truncated"] is True


def test_audited_reset_explains_its_gap(in_transaction):
    documents(1, 2, 3)
    sequence("s", 3)
    change = reset_sequence("s", 100, expected_last=3, reason="new fiscal numbering")
    documents(100, 101)
    Sequence.objects.filter(name="s").update(last=101)
    code, report = run_json(TARGET, "--sequence", "s")
    assert code == 0, report
    found = report["sequences"][0]
    assert found["missing"]["count"] == 0
    (span,) = found["explained"]["spans"]
    assert (span["first"], span["last"], span["missing"]) == (4, 99, 96)
    assert span["change"]["id"] == change.pk
    assert span["change"]["reason"] == "new fiscal numbering"
    assert found["explained"]["count"] == 96


def test_explained_and_unexplained_gaps_side_by_side(in_transaction):
    documents(1, 3, 50, 52)
    sequence("s", 3)
    reset_sequence("s", 50, expected_last=3, reason="skip")
    Sequence.objects.filter(name="s").update(last=52)
    code, report = run_json(TARGET, "--sequence", "s", "--limit", "1")
    assert code == 1
    found = report["sequences"][0]
    assert found["missing"] == {"count": 2, "ranges": ["2"], "truncated": True}
    assert found["explained"]["count"] == 46


def test_seed_explains_the_values_below_it(in_transaction):
    reset_sequence("s", 10, expected_last=None, reason="seeded", action="seed")
    documents(10, 11)
    Sequence.objects.filter(name="s").update(last=11)
    code, report = run_json(TARGET, "--sequence", "s", "--start", "1")
    assert code == 0
    assert report["sequences"][0]["explained"]["spans"][0]["first"] == 1
    assert report["sequences"][0]["explained"]["count"] == 9


def test_backward_reset_explains_nothing(in_transaction):
    documents(1, 2, 3, 4)
    sequence("s", 4)
    reset_sequence("s", 3, expected_last=4, reason="oops", allow_reuse=True)
    documents(3)
    Sequence.objects.filter(name="s").update(last=3)
    code, report = run_json(TARGET, "--sequence", "s")
    assert code == 1
    found = report["sequences"][0]
    assert found["duplicates"]["values"] == [{"value": 3, "documents": 2}]
    assert found["ahead"]["values"] == [4]
    assert found["explained"]["count"] == 0


def test_json_schema(in_transaction):
    documents(1, 2)
    sequence("s", 2)
    code, report = run_json(TARGET, "--sequence", "s")
    assert code == 0
    assert set(report) == {
        "schema",
        "model",
        "field",
        "mode",
        "documents_database",
        "sequences_database",
        "one_snapshot",
        "filters",
        "limit",
        "clean",
        "findings",
        "rows",
        "null",
        "unparseable",
        "sequences",
    }
    assert report["schema"] == 1
    assert (report["model"], report["field"], report["mode"]) == (
        "testapp.Document",
        "number",
        "sequence",
    )
    assert report["unparseable"] == {"count": 0, "values": [], "truncated": False}
    (found,) = report["sequences"]
    assert set(found) == {
        "name",
        "last",
        "start",
        "documents",
        "highest",
        "below_start",
        "findings",
        "missing",
        "duplicates",
        "ahead",
        "explained",
    }
    assert set(found["explained"]) == {"count", "spans"}


def test_sequence_check_on_a_million_range_stays_small(in_transaction):
    # Numbers far apart: the report is about the gaps, not the range.
    documents(1, 10**12)
    sequence("s", 10**12)
    _, report = run_json(TARGET, "--sequence", "s")
    assert report["sequences"][0]["missing"]["count"] == 10**12 - 2
    assert report["sequences"][0]["missing"]["ranges"] == [f"2-{10**12 - 1}"]


# Usage errors: exit status 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("testapp.Nope.number", "--sequence", "s"), "Unknown model 'testapp.Nope'"),
        (("Document.number", "--sequence", "s"), "Expected APP.Model.field"),
        (("testapp.Document.nope", "--sequence", "s"), "has no field 'nope'"),
        (
            ("testapp.Document.reference", "--sequence", "s"),
            "--sequence needs an integer field",
        ),
        ((TARGET, "--sequence", "unknown"), "Sequence 'unknown' does not exist"),
        ((TARGET, "--series", "tests.test_sequence_check.NOT_A_SERIES"), "not a sequences"),
        ((TARGET, "--series", "tests.nowhere.SERIES"), "Cannot import --series"),
        ((TARGET, "--sequence", "s", "--reason", "x"), "--reason only goes with"),
        ((TARGET, "--sequence", "s", "--fix-forward"), "--fix-forward needs --reason"),
        ((TARGET, "--sequence", "s", "--timeout", "1"), "--timeout only goes with --fix-forward"),
        (
            (TARGET, "--sequence", "s", "--fix-forward", "--reason", "r", "--timeout", "soon"),
            "--timeout must be a number of seconds",
        ),
        ((TARGET, "--sequence", "s", "--filter", "nope=1"), "Invalid --filter"),
        ((TARGET, "--sequence", "s", "--filter", "number=abc"), "Invalid --filter"),
        ((TARGET, "--sequence", "s", "--filter", "kind"), "FIELD=VALUE"),
        ((TARGET, "--sequence", "s", "--limit", "0"), "--limit must be an integer"),
        ((TARGET, "--sequence", "s", "--start", "x"), "--start must be an integer"),
        ((TARGET, "--sequence", "s", "--database", "nope"), "Unknown database alias"),
        (
            (TARGET, "--series", "tests.test_sequence_check.INVOICES", "--start", "1"),
            "--start goes with --sequence only",
        ),
    ],
)
def test_usage_errors_exit_two(in_transaction, args, message):
    sequence("s", 1)
    assert message in usage_error(*args)


def test_usage_error_from_the_shell_exits_two(transactional_db, capsys):
    from .command_utils import run_cli

    code, _, err = run_cli(capsys, "sequence_check", TARGET, "--sequence", "unknown")
    assert code == 2
    assert "does not exist" in err
    code, _, _ = run_cli(capsys, "sequence_check", TARGET)
    assert code == 2  # argparse: neither --sequence nor --series


def test_findings_from_the_shell_exit_one(transactional_db, capsys):
    from .command_utils import run_cli

    documents(1, 3)
    sequence("s", 3)
    code, out, _ = run_cli(capsys, "sequence_check", TARGET, "--sequence", "s")
    assert code == 1
    assert "missing (1): 2" in out


# --fix-forward


def test_fix_forward_moves_a_behind_sequence_to_max_plus_one(in_transaction):
    documents(1, 2, 3, 7)
    sequence("s", 3)
    code, _, err = run(TARGET, "--sequence", "s", "--fix-forward", "--reason", "import")
    assert code == 1  # the finding was there
    assert get_last_value("s") == 7
    change = SequenceChange.objects.get()
    assert (change.source, change.action, change.last_before, change.last_after) == (
        "command",
        "reset",
        3,
        7,
    )
    assert change.reason == "import"
    assert change.username.endswith("(manage.py)")
    # Now only the gap 4-6 is left; fixing forward again changes nothing.
    code, report = run_json(TARGET, "--sequence", "s")
    assert report["sequences"][0]["ahead"]["count"] == 0


def test_fix_forward_never_moves_a_sequence_back(in_transaction):
    documents(1, 2)
    sequence("s", 9)
    code, _, _ = run(TARGET, "--sequence", "s", "--fix-forward", "--reason", "try")
    assert code == 1
    assert get_last_value("s") == 9
    assert not SequenceChange.objects.exists()


def test_fix_forward_gives_up_after_timeout_behind_a_holder_and_changes_nothing(
    transactional_db, vendor
):
    import threading

    from sequences import get_next_value

    documents(1, 2, 3, 7)
    sequence("s", 3)
    holding, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                get_next_value("s")  # 4, rolled back below
                holding.set()
                release.wait(30)
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(30)
        started = time.monotonic()
        with pytest.raises(CommandError, match="Nothing was changed") as raised:
            run(TARGET, "--sequence", "s", "--fix-forward", "--reason", "r", "--timeout", "0.3")
        # SQLite's deferred transactions fail at once (docs/locking.md); the
        # servers wait about the timeout.
        assert (0 if vendor == "sqlite" else 0.25) <= time.monotonic() - started < 10
        assert raised.value.returncode == 1
    finally:
        release.set()
        holder.join(30)
    assert get_last_value("s") == 3
    assert not SequenceChange.objects.exists()


def test_fix_forward_refuses_documents_numbered_at_the_largest_value(in_transaction):
    documents(1, 2**63 - 1)
    sequence("s", 1)
    with pytest.raises(CommandError, match="cannot move past its documents' largest number"):
        run(TARGET, "--sequence", "s", "--fix-forward", "--reason", "r")
    assert get_last_value("s") == 1
    assert not SequenceChange.objects.exists()


def test_fix_forward_creates_a_missing_period_sequence(in_transaction):
    references("INV-2027-0001", "INV-2027-0002")
    run(SERIES_TARGET, "--series", "tests.test_sequence_check.INVOICES")
    code, _, _ = run(
        SERIES_TARGET,
        "--series",
        "tests.test_sequence_check.INVOICES",
        "--fix-forward",
        "--reason",
        "imported 2027",
    )
    assert code == 1
    assert get_last_value("inv.2027") == 2
    assert run(SERIES_TARGET, "--series", "tests.test_sequence_check.INVOICES")[0] == 0


# --series


def test_series_every_kind_of_finding(in_transaction):
    references(
        "INV-2025-0001",
        "INV-2025-0002",
        "INV-2026-0001",
        "INV-2026-0003",
        "INV-2026-0003",
        "INV-2026-0006",
        "INV-2026-006",
        "garbage",
        None,
        "INV-2027-0001",
    )
    sequence("inv.2025", 2)
    sequence("inv.2026", 5)
    sequence("inv.2024", 0)
    sequence("invx.2026", 9)  # another series' sequence: not checked
    code, report = run_json(SERIES_TARGET, "--series", "tests.test_sequence_check.INVOICES")
    assert code == 1
    assert report["mode"] == "series"
    assert (report["rows"], report["null"]) == (10, 1)
    assert report["unparseable"] == {
        "count": 2,
        "values": ["INV-2026-006", "garbage"],
        "truncated": False,
    }
    found = {item["name"]: item for item in report["sequences"]}
    assert list(found) == ["inv.2024", "inv.2025", "inv.2026", "inv.2027"]
    assert found["inv.2024"]["findings"] == 0
    assert found["inv.2025"]["findings"] == 0
    assert found["inv.2026"]["missing"]["ranges"] == ["2", "4-5"]
    assert found["inv.2026"]["duplicates"]["values"] == [{"value": 3, "documents": 2}]
    assert found["inv.2026"]["ahead"]["values"] == [6]
    assert found["inv.2027"]["last"] is None
    assert found["inv.2027"]["ahead"] == {"count": 1, "values": [1], "truncated": False}
    assert report["findings"] == 2 + 3 + 1 + 1 + 1


def test_series_reads_in_chunks_and_explains_resets(in_transaction):
    texts = [f"INV-2026-{value:04d}" for value in [*range(1, 30), *range(60, 75)]]
    references(*texts)
    sequence("inv.2026", 29)
    reset_sequence("inv.2026", 60, expected_last=29, reason="skip")
    Sequence.objects.filter(name="inv.2026").update(last=74)
    report = check_series(Document, "reference", INVOICES, chunk_size=7)
    assert report.rows == len(texts)
    assert report.clean
    (found,) = report.sequences
    assert found.explained_count == 30
    assert (found.explained[0].first, found.explained[0].last) == (30, 59)


def test_series_scopes_and_filters(in_transaction):
    shops = NumberSeries("shop", format="{scope}/{value}")
    Document.objects.bulk_create(
        [
            Document(reference="paris/1", kind="a"),
            Document(reference="paris/2", kind="a"),
            Document(reference="lyon/1", kind="a"),
            Document(reference="lyon/5", kind="b"),
        ]
    )
    sequence("shop.paris", 2)
    sequence("shop.lyon", 1)
    report = check_series(Document, "reference", shops, filters={"kind": "a"})
    assert report.clean
    assert [s.name for s in report.sequences] == ["shop.lyon", "shop.paris"]
    report = check_series(Document, "reference", shops)
    assert [s.ahead_values for s in report.sequences] == [[5], []]


def test_documents_read_through_the_router(db_mode):
    from .command_utils import SequencesOnOther

    documents(1, 2, 4)
    sequence("s", 4, using="other")
    with override_settings(DATABASE_ROUTERS=[SequencesOnOther()]):
        report = check_sequence(Document, "number", "s")
        assert (report.documents_database, report.sequences_database) == ("default", "other")
        assert report.one_snapshot is False
        assert report.sequences[0].missing_ranges == [(3, 3)]
        assert run(TARGET, "--sequence", "s", "--database", "other")[0] == 1
        assert "does not exist on database 'default'" in usage_error(
            TARGET, "--sequence", "s", "--database", "default"
        )


def test_check_writes_nothing_and_leaves_no_transaction_open(db_mode, in_transaction):
    documents(1, 2, 4)
    sequence("s", 4)
    check_sequence(Document, "number", "s")
    check_series(Document, "reference", INVOICES)
    connection = connections["default"]
    assert connection.in_atomic_block == in_transaction
    assert Sequence.objects.get(name="s").last == 4
    assert not SequenceChange.objects.exists()


# Under load


SERIES = NumberSeries("load", format="L-{year}-{value}", period="year")
DAY = datetime.date(2026, 12, 31)


class Rollback(Exception):
    pass


def writer(seed: int, transactions: int) -> None:
    chance = random.Random(seed)
    try:
        for _ in range(transactions):
            try:
                with transaction.atomic():
                    number = SERIES.next(DAY)
                    # Hold the number a while before the row exists: a check
                    # that read the two at different times would see a gap.
                    time.sleep(chance.random() * 0.01)
                    Document.objects.create(number=number.value, reference=str(number))
                    if chance.random() < 0.3:
                        raise Rollback
            except Rollback:
                pass
    finally:
        connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_checks_while_two_processes_draw_find_nothing():
    connections.close_all()
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=writer, args=(seed, 60)) for seed in range(2)]
    for process in processes:
        process.start()
    checks = 0
    try:
        while any(process.is_alive() for process in processes):
            if Sequence.objects.filter(name="load.2026").exists():
                by_sequence = check_sequence(Document, "number", "load.2026", start=1)
                assert by_sequence.clean, by_sequence.as_json()
                by_series = check_series(Document, "reference", SERIES, chunk_size=10)
                assert by_series.clean, by_series.as_json()
                checks += 1
    finally:
        for process in processes:
            process.join(180)
    assert [process.exitcode for process in processes] == [0, 0]
    assert checks > 0, "no check ran while the writers ran"
    numbers = sorted(
        number
        for number in Document.objects.values_list("number", flat=True).distinct()
        if number is not None
    )
    assert Document.objects.count() == len(numbers)
    assert numbers == list(range(1, len(numbers) + 1))
    assert run(TARGET, "--sequence", "load.2026")[0] == 0
    assert run(SERIES_TARGET, "--series", "tests.test_sequence_check.SERIES")[0] == 0


def _commit_a_document(number: int) -> None:
    try:
        Document.objects.create(number=number)
    finally:
        connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_snapshot_does_not_see_a_commit_made_after_its_first_read():
    import threading

    from sequences.check import snapshot

    documents(1)
    with snapshot(["default"]) as shared:
        assert shared is True
        before = Document.objects.count()
        # A writer commits now (PostgreSQL, MariaDB, SQLite in WAL mode) or
        # waits for the snapshot to end (SQLite's rollback journal): either
        # way, the snapshot keeps reading what it read first.
        thread = threading.Thread(target=_commit_a_document, args=(2,))
        thread.start()
        thread.join(3)
        assert Document.objects.count() == before == 1
    thread.join(30)
    assert not thread.is_alive()
    assert Document.objects.count() == 2


def test_snapshot_inside_a_callers_transaction_uses_it(db_mode, in_transaction):
    from sequences.check import snapshot

    with transaction.atomic(), snapshot(["default"]) as shared:
        assert shared is False
        assert connections["default"].in_atomic_block


def test_unique_under_reads_the_constraints():
    from demo.billing.models import Invoice
    from sequences.check import unique_under
    from tests.testapp.models import Ticket

    assert unique_under(Ticket, "number", {})
    assert not unique_under(Document, "number", {})
    assert not unique_under(Document, "number", {"kind": "a"})
    # UniqueConstraint(year, number): unique once the year is fixed.
    assert unique_under(Invoice, "number", {"year": "2026"})
    assert unique_under(Invoice, "number", {"year__exact": "2026"})
    assert not unique_under(Invoice, "number", {"year__gte": "2026"})
    assert not unique_under(Invoice, "number", {})
    # year=None keeps the NULL years, whose numbers the constraint leaves free.
    assert not unique_under(Invoice, "number", {"year": None})  # type: ignore[dict-item]


def test_leads_an_index_reads_the_indexes():
    from demo.billing.models import Invoice
    from sequences.check import leads_an_index
    from tests.testapp.models import Ticket

    assert leads_an_index(Ticket, "number")
    assert leads_an_index(Document, "number")
    assert not leads_an_index(Document, "reference")
    # UniqueConstraint(year, number): the index starts with the year...
    assert leads_an_index(Invoice, "year")
    assert not leads_an_index(Invoice, "number")
    # ... so it answers for the numbers of one year.
    assert leads_an_index(Invoice, "number", {"year": "2026"})
    assert leads_an_index(Invoice, "number", {"year__exact": "2026"})
    assert not leads_an_index(Invoice, "number", {"year__gte": "2026"})
    assert not leads_an_index(Invoice, "number", {"year": "2026", "description": ""})
    assert not leads_an_index(Invoice, "number", {"customer__name": "x"})
    assert not leads_an_index(Invoice, "year", {"year": "2026"})
    assert leads_an_index(Ticket, "number", {"sequence_name": "a"})
    assert not leads_an_index(Document, "number", {"kind": ""})
    assert not leads_an_index(Invoice, "number", {"year": None})  # type: ignore[dict-item]


@pytest.mark.parametrize("numbers", [[1, 2, 3, 4], [1, 3, 4, 7], []])
def test_a_filter_on_the_leading_fields_uses_the_index(in_transaction, numbers):
    # Invoices of one year, UniqueConstraint(year, number): the totals are
    # lookups on that index (no scan with counters), and the findings are
    # those of the scan that another filter forces.
    from demo.billing.models import Customer, Invoice

    customer = Customer.objects.create(name="Client", number=1)
    Invoice.objects.bulk_create(
        Invoice(customer=customer, year=year, number=number, issued_on=DAY, amount=1)
        for year, number in [(2026, n) for n in numbers] + [(2025, 1), (2025, 9), (2027, 2)]
    )
    sequence("invoices", 5)
    with CaptureQueriesContext(connections["default"]) as queries:
        by_index = check_sequence(Invoice, "number", "invoices", filters={"year": "2026"})
    assert not any("CASE WHEN" in query["sql"] for query in queries)
    by_scan = check_sequence(
        Invoice, "number", "invoices", filters={"year": "2026", "description": ""}
    )
    found = [
        (r.documents, r.missing_count, r.missing_ranges, r.ahead_values, r.highest)
        for r in (by_index.sequences[0], by_scan.sequences[0])
    ]
    assert found[0] == found[1]
    assert found[0][0] == len(numbers)


def test_unique_numbers_are_checked_without_grouping(in_transaction):
    from tests.testapp.models import Ticket

    Ticket.objects.bulk_create([Ticket(number=n) for n in (1, 2, 4, 9)])
    sequence("t", 6)
    report = check_sequence(Ticket, "number", "t")
    (found,) = report.sequences
    assert (found.missing_ranges, found.ahead_values, found.duplicate_count) == (
        [(3, 3), (5, 6)],
        [9],
        0,
    )


# Edge cases, checked the same way by --sequence (on the server) and --series
# (streamed in order on the client).


def both(numbers, last, *, start=1):
    """Each number stored twice, as an integer and as an INV number; both checks' findings."""
    Document.objects.bulk_create(
        [
            Document(number=n, reference=None if n is None else INVOICES.render(n, DAY))
            for n in numbers
        ]
    )
    sequence("s", last)
    sequence("inv.2026", last)
    series = NumberSeries(
        "inv", format="INV-{year}-{value:04d}", period="year", initial_value=start
    )
    reports = [
        # Along the index, then (with a filter that keeps every row) in one scan.
        check_sequence(Document, "number", "s", start=start).sequences[0],
        check_sequence(Document, "number", "s", start=start, filters={"kind": ""}).sequences[0],
        check_series(Document, "reference", series, chunk_size=3).sequences[0],
    ]
    found = [
        {
            "missing": (report.missing_count, report.missing_ranges),
            "duplicates": (report.duplicate_count, report.duplicates),
            "ahead": (report.ahead_count, report.ahead_values),
            "below_start": report.below_start,
            "documents": report.documents,
            "highest": report.highest,
            "explained": [(e.first, e.last, e.missing) for e in report.explained],
        }
        for report in reports
    ]
    assert found[0] == found[1] == found[2]
    return found[0]


@pytest.mark.parametrize(
    ("numbers_per_range", "most_ranges"), [(1, 64), (2, 64), (3, 64), (5, 64), (1, 4)]
)
def test_numbers_counted_in_ranges(in_transaction, monkeypatch, numbers_per_range, most_ranges):
    # PostgreSQL counts an indexed number that is not unique in ranges
    # (RANGE_NUMBERS values each, at most MAX_RANGES); tiny ranges put their
    # bounds beside and between the duplicates. The other backends count in
    # one statement: the same findings.
    monkeypatch.setattr(check_module, "RANGE_NUMBERS", numbers_per_range)
    monkeypatch.setattr(check_module, "MAX_RANGES", most_ranges)
    with CaptureQueriesContext(connections["default"]) as queries:
        found = both([None, 1, 2, 2, 3, 5, 5, 6, 8, 9, 9, 12], 10)
    assert found["duplicates"] == (3, [(2, 2), (5, 2), (9, 2)])
    assert found["missing"] == (3, [(4, 4), (7, 7), (10, 10)])
    assert (found["ahead"], found["documents"]) == ((1, [12]), 11)
    if connections["default"].vendor == "postgresql":
        ranged = [query["sql"] for query in queries if "UNION ALL" in query["sql"]]
        # The numbers 1..12: one range per numbers_per_range of them, at most
        # most_ranges; inside the caller's transaction, whose reads need not
        # agree from one statement to the next, one statement instead.
        expected = [] if in_transaction else [min(most_ranges, math.ceil(12 / numbers_per_range))]
        assert [sql.count("COUNT(DISTINCT") for sql in ranged] == expected


@pytest.mark.parametrize("numbers_per_range", [1, 3, 7])
def test_clean_numbers_counted_in_ranges(in_transaction, monkeypatch, numbers_per_range):
    monkeypatch.setattr(check_module, "RANGE_NUMBERS", numbers_per_range)
    found = both(list(range(1, 21)), 20)
    assert (found["missing"], found["duplicates"], found["documents"]) == ((0, []), (0, []), 20)


def test_duplicate_at_the_first_value(in_transaction):
    found = both([1, 1, 2, 3], 3)
    assert found["duplicates"] == (1, [(1, 2)])
    assert found["missing"] == (0, [])


def test_duplicate_at_the_last_value(in_transaction):
    found = both([1, 2, 3, 3, 3], 3)
    assert found["duplicates"] == (1, [(3, 3)])
    assert (found["missing"], found["ahead"]) == ((0, []), (0, []))


def test_gaps_next_to_duplicates(in_transaction):
    found = both([1, 3, 3, 5, 5, 7], 8)
    assert found["duplicates"] == (2, [(3, 2), (5, 2)])
    assert found["missing"] == (4, [(2, 2), (4, 4), (6, 6), (8, 8)])


def test_null_numbers_are_neither_duplicates_nor_gaps(in_transaction):
    found = both([None, None, None, 1, 2], 2)
    assert (found["missing"], found["duplicates"], found["documents"]) == ((0, []), (0, []), 2)


def test_values_below_the_start_are_counted_not_checked(in_transaction):
    # 1 is held twice, but below the start: not a duplicate.
    found = both([1, 1, 3, 4, 4], 5, start=3)
    assert found["below_start"] == 2
    assert found["duplicates"] == (1, [(4, 2)])
    assert found["missing"] == (1, [(5, 5)])


def test_duplicates_ahead_of_the_last_value(in_transaction):
    found = both([1, 2, 5, 5, 6], 2)
    assert found["ahead"] == (3, [5, 6])
    assert found["duplicates"] == (1, [(5, 2)])
    assert (found["missing"], found["highest"]) == ((0, []), 6)


def test_gap_between_the_last_value_and_documents_ahead(in_transaction):
    found = both([1, 2, 9], 5)
    assert found["missing"] == (3, [(3, 5)])
    assert found["ahead"] == (1, [9])


def test_explained_span_touching_duplicates(in_transaction):
    Sequence.objects.create(name="s", last=3)
    Sequence.objects.create(name="inv.2026", last=3)
    for name in ("s", "inv.2026"):
        reset_sequence(name, 7, expected_last=3, reason="skipped 4-6")  # next: 7
        Sequence.objects.filter(name=name).update(last=8)
    Sequence.objects.filter(name__in=["s", "inv.2026"]).delete()
    # Documents 3 and 7 (just outside the span) are held twice, 5 (inside) too.
    found = both([1, 2, 3, 3, 5, 5, 7, 7], 8)
    assert found["explained"] == [(4, 6, 2)]
    assert found["duplicates"] == (3, [(3, 2), (5, 2), (7, 2)])
    assert found["missing"] == (1, [(8, 8)])


def test_limit_caps_the_streamed_lists(in_transaction):
    Document.objects.bulk_create(
        [Document(reference=INVOICES.render(n, DAY)) for n in (1, 1, 3, 3, 5, 5, 9, 9)]
    )
    sequence("inv.2026", 6)
    (found,) = check_series(Document, "reference", INVOICES, limit=1, chunk_size=2).sequences
    assert (found.missing_count, found.missing_ranges, found.missing_truncated) == (
        3,
        [(2, 2)],
        True,
    )
    assert (found.duplicate_count, found.duplicates, found.duplicate_truncated) == (
        4,
        [(1, 2)],
        True,
    )
    assert (found.ahead_count, found.ahead_values, found.ahead_truncated) == (2, [9], False)


def test_unparseable_values_listed_lowest_first(in_transaction):
    references("zz", "INV-2026-01", "aa", "INV-2026-0001")
    sequence("inv.2026", 1)
    report = check_series(Document, "reference", INVOICES, limit=2, chunk_size=1)
    assert (report.unparseable_count, report.unparseable) == (3, ["INV-2026-01", "aa"])


# --series: the order that makes streaming possible


def test_text_order_is_numeric_for_fields_the_period_fixes():
    from sequences.check import text_order_is_numeric

    assert text_order_is_numeric(INVOICES)
    assert text_order_is_numeric(NumberSeries("o", format="ORD{value}"))
    assert text_order_is_numeric(NumberSeries("s", format="{scope}/{value}"))
    assert text_order_is_numeric(
        NumberSeries("m", format="M{year}{month:02d}-{value}", period="month")
    )
    # A month in a yearly series, a year without a named period: not in order.
    assert not text_order_is_numeric(
        NumberSeries("y", format="Y{year}-{month:02d}-{value}", period="year")
    )
    assert not text_order_is_numeric(NumberSeries("n", format="N{year}-{value}"))
    fiscal = lambda day: str(day.year)  # noqa: E731
    assert text_order_is_numeric(NumberSeries("f", format="FY{period}-{value}", period=fiscal))
    # A callable period fixes {period} alone, not the date fields.
    assert not text_order_is_numeric(
        NumberSeries("g", format="FY{period}/{year}-{value}", period=fiscal)
    )


def test_variable_width_values_are_read_in_numeric_order(in_transaction):
    orders = NumberSeries("ord", format="ORD{value}")
    # Text order would read ORD10 before ORD9.
    references("ORD10", "ORD9", "ORD100", "ORD10", "ORD8", "ORD11", "ORD1")
    sequence("ord", 100)
    (found,) = check_series(Document, "reference", orders, chunk_size=2).sequences
    assert found.duplicates == [(10, 2)]
    assert found.missing_ranges == [(2, 7), (12, 99)]


def test_a_format_out_of_text_order_is_still_checked(in_transaction):
    monthly = NumberSeries("y", format="Y{year}-{month:02d}-{value}", period="year")
    # In text order, 3 (in February) comes before 2 (in March).
    references("Y2026-01-1", "Y2026-02-3", "Y2026-03-2", "Y2026-03-2", "Y2026-04-5")
    sequence("y.2026", 5)
    (found,) = check_series(Document, "reference", monthly, chunk_size=2).sequences
    assert (found.missing_ranges, found.duplicates) == ([(4, 4)], [(2, 2)])


def test_series_memory_does_not_grow_with_the_last_value(in_transaction):
    import tracemalloc

    references("INV-2026-0001", "INV-2026-1000000000000")
    sequence("inv.2026", 10**12)
    tracemalloc.start()
    try:
        (found,) = check_series(Document, "reference", INVOICES).sequences
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert found.missing_ranges == [(2, 10**12 - 1)]
    # A bit per value up to the last one would be 125 GB.
    assert peak < 2_000_000


def test_series_memory_does_not_grow_with_the_table(in_transaction):
    import tracemalloc

    def peak(rows):
        Document.objects.all().delete()
        Sequence.objects.filter(name="inv.2026").delete()
        Document.objects.bulk_create(
            [Document(reference=INVOICES.render(n, DAY)) for n in range(1, rows + 1)],
            batch_size=500,
        )
        sequence("inv.2026", rows)
        tracemalloc.start()
        try:
            report = check_series(Document, "reference", INVOICES, chunk_size=100)
            _, found = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert report.clean and report.rows == rows
        return found

    small, large = peak(1_000), peak(9_000)
    # Nine times the documents: the same chunks and state. Anything that kept
    # a few bytes per document would add tens of kB.
    assert large < small * 1.2 + 16_000, (small, large)


# --series on a column that is not text, and a server order that is not numeric


PLAIN = NumberSeries("n", format="{value}")


def test_series_on_an_integer_column(in_transaction):
    plain = PLAIN
    # The value 10 and 9 would be out of order as text; an integer column
    # cannot be sorted by length or collation on PostgreSQL at all.
    documents(1, 10, 9, 9, 3, None)
    sequence("n", 11)
    report = check_series(Document, "number", plain, chunk_size=2)
    (found,) = report.sequences
    assert (report.rows, report.null) == (6, 1)
    assert found.missing_ranges == [(2, 2), (4, 8), (11, 11)]
    assert found.duplicates == [(9, 2)]


def test_series_command_on_an_integer_column(in_transaction):
    documents(1, 2, 4)
    sequence("n", 4)
    code, found = run_json(TARGET, "--series", "tests.test_sequence_check.PLAIN")
    assert code == 1
    assert found["sequences"][0]["missing"]["ranges"] == ["3"]


class _Countdown(NumberSeries):
    """A series whose values run against its text order: the server sorts it wrongly."""

    def parse(self, text):
        name, value = super().parse(text)
        return name, 100 - value


def test_a_server_order_that_is_not_numeric_falls_back_to_the_bitmap(in_transaction):
    countdown = _Countdown("cd", format="CD{value}")
    # Text order CD1, CD2, CD3, CD3, CD5 reads the values 99, 98, 97, 97, 95.
    references("CD1", "CD2", "CD3", "CD3", "CD5", "junk")
    sequence("cd", 99)
    report = check_series(Document, "reference", countdown, chunk_size=2)
    (found,) = report.sequences
    assert (report.rows, report.unparseable_count, report.unparseable) == (6, 1, ["junk"])
    assert found.documents == 5
    assert found.duplicates == [(97, 2)]
    assert found.missing_count == 95
    assert found.missing_ranges == [(1, 94), (96, 96)]


@pytest.mark.parametrize("check", ["sequence", "series"])
@pytest.mark.parametrize(
    ("limit", "error"), [(0, ValueError), (-1, ValueError), ("5", TypeError), (True, TypeError)]
)
def test_limit_must_be_at_least_one(
    in_transaction, django_assert_num_queries, check, limit, error
):
    references("junk")
    sequence("inv.2026", 1)
    with (
        django_assert_num_queries(0),
        pytest.raises(error, match="limit must be an int of at least 1"),
    ):
        if check == "series":
            check_series(Document, "reference", INVOICES, limit=limit)
        else:
            check_sequence(Document, "number", "s", limit=limit)


def test_keep_lowest_with_no_room_keeps_nothing():
    from sequences.check import _keep_lowest

    kept: list[str] = []
    _keep_lowest(kept, "x", 0)
    assert kept == []


@pytest.mark.backends("sqlite")
@pytest.mark.django_db(transaction=True)
def test_a_check_takes_no_write_lock_with_immediate_transactions(immediate):
    # transaction_mode IMMEDIATE (sequences.W101) makes atomic() take SQLite's
    # write lock at BEGIN; a check only reads, and must not hold writers off.
    import sqlite3

    from sequences.check import snapshot

    connection = connections["default"]

    def another_writer_begins() -> None:
        other = sqlite3.connect(connection.settings_dict["NAME"], timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        finally:
            other.close()

    try:
        documents(1, 2)
        sequence("s", 2)
        with snapshot(["default"]):
            assert Document.objects.count() == 2
            another_writer_begins()  # at once: no "database is locked"
        assert connection.transaction_mode == "IMMEDIATE"  # type: ignore[attr-defined]
        assert check_sequence(Document, "number", "s").clean
        # The caller's own transactions still begin IMMEDIATE.
        with transaction.atomic(), pytest.raises(sqlite3.OperationalError, match="locked"):
            another_writer_begins()
    finally:
        connection.close()


@pytest.mark.backends("sqlite")
@pytest.mark.django_db(transaction=True)
def test_a_draw_inside_a_checks_snapshot_still_bounds_its_wait(immediate):
    # The check's transaction begins DEFERRED although transaction_mode says
    # IMMEDIATE: it holds no write lock, so a bounded draw inside it must still
    # set the busy timeout (holds_write_lock must not trust transaction_mode).
    from sequences.backends.sqlite import holds_write_lock
    from sequences.check import snapshot

    connection = connections["default"]
    try:
        with snapshot(["default"]):
            assert not holds_write_lock(connection)
        with transaction.atomic():
            assert holds_write_lock(connection)
    finally:
        connection.close()
