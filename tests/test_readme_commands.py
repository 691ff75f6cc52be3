"""The documentation's command examples run against the test database and print what they say.

In every ``console`` block of a page, a line ``$ python manage.py ...`` is run
as the shell would (through Django's command-line entry point), and the lines
after it, up to the next ``$`` line or the end of the block, are what it
prints (stdout and stderr together, as a terminal shows them). A session is
the README's "Admin, commands and seeding" section, or a whole page of
``docs/`` (``commands.md``, ``seeding.md``), run on an empty database;
timestamps are compared as ``<time>``. A confirmation prompt is answered
``yes``. Sessions that seed assume the ``shop`` app with invoices numbered 7
and 41.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import ManagementUtility

from .command_utils import call
from .shop.models import Invoice
from .shop_fixture import shop_fixture  # noqa: F401  (the "shop" fixture)

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
COMMANDS = ROOT / "docs" / "commands.md"
SEEDING = ROOT / "docs" / "seeding.md"
README_SECTION = "Admin, commands and seeding"
TIME = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?\+00:00")


Blocks = list[tuple[str, list[tuple[str, str]]]]


def sections(page: Path) -> dict[str, Blocks]:
    """``{section: [(fence language, [(command, expected output)])]}``; "" is the page's top."""
    found: dict[str, Blocks] = {"": []}
    section, language = "", ""
    block: list[tuple[str, str]] | None = None
    for line in page.read_text().splitlines():
        if block is None and line.startswith("## "):
            section = line[3:]
            found[section] = []
        elif block is None and line.startswith("```"):
            block, language = [], line[3:]
        elif block is not None and line.startswith("```"):
            found[section].append((language, block))
            block = None
        elif block is not None and line.startswith("$ "):
            block.append((line[2:], ""))
        elif block is not None and block and language == "console":
            command, output = block[-1]
            block[-1] = (command, output + line + "\n")
        elif block is not None:
            block.append(("", line + "\n"))
    return found


def blocks(page: Path, section: str | None = None) -> Blocks:
    """The fenced blocks of one ``##`` section of ``page``, or of the whole page."""
    found = sections(page)
    if section is not None:
        return found[section]
    return [block for section_blocks in found.values() for block in section_blocks]


def examples(page: Path, section: str | None = None) -> list[tuple[str, str]]:
    return [
        (command, output)
        for language, block in blocks(page, section)
        if language == "console"
        for command, output in block
    ]


def code_blocks(page: Path, language: str, section: str | None = None) -> list[str]:
    return [
        "".join(text for _, text in block)
        for block_language, block in blocks(page, section)
        if block_language == language
    ]


def run(command: str, monkeypatch) -> tuple[int, str]:
    argv = shlex.split(command)
    assert argv[:2] == ["python", "manage.py"], command
    terminal = io.StringIO()

    def answer_yes() -> str:
        sys.stderr.write("yes\n")
        return "yes"

    monkeypatch.setattr("builtins.input", answer_yes)
    with contextlib.redirect_stdout(terminal), contextlib.redirect_stderr(terminal):
        try:
            ManagementUtility(["manage.py", *argv[2:]]).execute()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, terminal.getvalue()


def check_session(page: Path, monkeypatch, section: str | None = None) -> int:
    from sequences.models import Sequence, SequenceChange

    # A session starts from no sequences (other apps' data migrations, such
    # as the demo's seed, may have created some).
    for alias in ("default", "other"):
        Sequence.objects.using(alias).all().delete()
        SequenceChange.objects.using(alias).all().delete()
    ran = 0
    for command, expected in examples(page, section):
        code, printed = run(command, monkeypatch)
        assert TIME.sub("<time>", printed) == TIME.sub("<time>", expected), command
        assert code == (1 if "CommandError: " in expected else 0), command
        ran += 1
    return ran


@pytest.fixture(autouse=True)
def operator(monkeypatch):
    monkeypatch.setenv("LOGNAME", "alice")


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_commands_page_prints_what_it_says(monkeypatch):
    """Autocommit only: the command line closes every connection when it ends."""
    assert check_session(COMMANDS, monkeypatch) >= 8


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_seeding_page_prints_what_it_says(shop, monkeypatch):
    Invoice.objects.create(number=7)
    Invoice.objects.create(number=41)
    assert check_session(SEEDING, monkeypatch) >= 3


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_readme_commands_and_seeding_print_what_they_say(shop, monkeypatch):
    Invoice.objects.create(number=7)
    Invoice.objects.create(number=41)
    assert check_session(README, monkeypatch, README_SECTION) >= 5


def test_readme_seeding_example_is_the_one_of_the_seeding_page():
    (shown,) = [c for c, _ in examples(README, README_SECTION) if "makemigra" in c]
    assert shown in [c for c, _ in examples(SEEDING)]


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_seeding_page_shows_the_generated_migration_as_ruff_formats_it(shop, monkeypatch):
    """The page is formatted by ``ruff format``, so the file is compared formatted alike."""
    (command,) = [c for c, _ in examples(SEEDING) if "makemigra" in c]
    run(command, monkeypatch)
    (written,) = shop.glob("0002_*.py")
    formatted = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", "migration.py", "-"],
        input=written.read_text(), capture_output=True, text=True, check=True, cwd=ROOT,
    ).stdout  # fmt: skip
    (shown,) = [
        text for text in code_blocks(SEEDING, "python") if text.startswith("# Generated by Django")
    ]
    assert shown.split("\n", 1)[1] == formatted.split("\n", 1)[1]


def test_commands_page_json_example_has_the_real_documents_shape(in_transaction):
    from sequences import get_next_value

    call("sequence_init", "customers", "--initial", "1000")
    get_next_value("customers")
    real = json.loads(call("sequence_show", "customers", "--format", "json")[0])
    (shown_text,) = code_blocks(COMMANDS, "json")
    shown = json.loads(shown_text)

    def shape(document):
        if isinstance(document, dict):
            return [(key, shape(value)) for key, value in document.items()]
        if isinstance(document, list):
            return [shape(item) for item in document]
        return type(document).__name__

    assert shape(shown) == shape(real)


def test_seeding_page_hand_written_migration_is_valid_python():
    python_blocks = code_blocks(SEEDING, "python")
    (text,) = [text for text in python_blocks if text.startswith("from django.db")]
    namespace: dict[str, object] = {}
    exec(compile(text, str(SEEDING), "exec"), namespace)
    operations = namespace["Migration"].operations  # type: ignore[attr-defined]
    assert [op.describe() for op in operations] == [
        "Seed sequence 'customers' at 1000",
        "Seed sequence 'invoices' from MAX(shop.Invoice.number) + 1",
    ]
