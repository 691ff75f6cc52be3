"""The documentation stays true: its links resolve, its example runs, its claims hold.

The README is also the package's description on the package index, where
relative links break: it stays short, self-contained in its first parts, and
names every page of ``docs/`` by its path.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.db import IntegrityError, connections, transaction

from sequences import SequenceOverflow, get_last_value, get_next_value
from sequences.validation import MAX_VALUE
from tests.testapp.models import Ticket

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = sorted([README, ROOT / "demo" / "README.md", *DOCS.glob("*.md")])

# [text](target) and ![alt](target); a target never contains spaces or ")".
LINK = re.compile(r"!?\[(?P<text>[^\]]*)\]\((?P<target>[^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)
HEADING = re.compile(r"^#{1,6} (.+)$", re.MULTILINE)


def without_code(text: str) -> str:
    return FENCE.sub("", text)


def anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as ``-``."""
    slug = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return slug.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {anchor(heading) for heading in HEADING.findall(without_code(page.read_text()))}


def relative_links(page: Path) -> list[str]:
    return [
        match["target"]
        for match in LINK.finditer(without_code(page.read_text()))
        if not re.match(r"[a-z][a-z0-9+.-]*:", match["target"])  # http:, https:, mailto:
    ]


def test_anchor_follows_githubs_rule():
    assert anchor("`LAST_INSERT_ID()` is overwritten") == "last_insert_id-is-overwritten"
    assert anchor("Switching from django-sequences 3.1") == "switching-from-django-sequences-31"


def test_the_documentation_pages_exist():
    names = {page.name for page in DOCS.glob("*.md")}
    assert {
        "index.md",
        "api.md",
        "databases.md",
        "admin.md",
        "commands.md",
        "seeding.md",
        "switching.md",
        "performance.md",
        "development.md",
    } <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    links = relative_links(page)
    broken = []
    for target in links:
        path, _, fragment = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f"{target}: no file {resolved}")
        elif fragment and resolved.suffix == ".md" and fragment not in anchors(resolved):
            broken.append(f"{target}: no heading with anchor #{fragment} in {resolved.name}")
    assert not broken, f"{page.name}: " + "; ".join(broken)


def test_readme_stays_short():
    assert len(README.read_text().splitlines()) < 300


def test_readme_parts_come_in_the_documented_order():
    headings = re.findall(r"^## (.+)$", without_code(README.read_text()), re.MULTILINE)
    assert headings == [
        "Install",
        "Example",
        "Admin, commands and seeding",
        "Guarantees and limits",
        "Documentation",
        "Credits",
    ]


def readme_sections() -> dict[str, str]:
    parts = re.split(r"^## (.+)$", README.read_text(), flags=re.MULTILINE)
    return {"": parts[0], **dict(zip(parts[1::2], parts[2::2], strict=True))}


def test_readme_links_to_local_files_only_in_its_documentation_section():
    """On the package index, relative links break: the other parts must not need them."""
    for title, text in readme_sections().items():
        if title != "Documentation":
            assert not relative_links_in(text), title


def relative_links_in(text: str) -> list[str]:
    return [
        match["target"]
        for match in LINK.finditer(without_code(text))
        if not re.match(r"[a-z][a-z0-9+.-]*:", match["target"])
    ]


def test_readme_names_every_page_by_its_path():
    """Each link of the README also shows its target, which survives where the link breaks."""
    documentation = readme_sections()["Documentation"]
    links = list(LINK.finditer(documentation))
    assert links
    for match in links:
        assert match["text"] == f"`{match['target']}`"
    listed = {match["target"] for match in links}
    for page in DOCS.glob("*.md"):
        assert f"docs/{page.name}" in listed, page.name


def test_docs_index_lists_every_page():
    listed = set(relative_links(DOCS / "index.md"))
    for page in DOCS.glob("*.md"):
        if page.name != "index.md":
            assert page.name in listed, page.name


def test_install_sections_add_each_app_once():
    """Following the README and the admin page together must not list an app twice."""
    for page in (README, DOCS / "admin.md"):
        text = page.read_text()
        assert "INSTALLED_APPS +=" not in text, page.name
        for block in re.findall(r"INSTALLED_APPS = \[\n(.*?)\]", text, re.DOTALL):
            apps = re.findall(r'"([\w.]+)"', block)
            assert len(apps) == len(set(apps)), page.name
            assert apps[-2:] == ["sequences", "sequences_admin"], page.name


def test_readme_extras_are_the_packages():
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    install = readme_sections()["Install"]
    for extra in ("postgresql", "postgresql2", "mysql"):
        assert f"`[{extra}]`" in install
        for requirement in extras[extra]:
            package = re.match(r"[\w-]+", requirement)[0]  # type: ignore[index]
            assert package in install, (extra, package)


def readme_example() -> dict[str, object]:
    match = re.search(
        r"<!-- readme-example -->\s*```python\n(.*?)```", README.read_text(), re.DOTALL
    )
    assert match, "README.md lost its example"
    assert len(match.group(1).strip().splitlines()) <= 10
    namespace: dict[str, object] = {"Invoice": Ticket}
    exec(compile(match.group(1), "README.md", "exec"), namespace)
    return namespace


def test_readme_example_numbers_without_gaps(in_transaction):
    create_invoice = readme_example()["create_invoice"]
    assert create_invoice().number == 1  # type: ignore[operator]
    blocker = Ticket.objects.create(number=2, sequence_name="someone else's")
    with pytest.raises(IntegrityError):
        create_invoice()  # type: ignore[operator]
    assert get_last_value("invoices") == 1  # the failed save gave its number back
    blocker.delete()
    assert create_invoice().number == 2  # type: ignore[operator]
    assert sorted(Ticket.objects.values_list("number", flat=True)) == [1, 2]


@pytest.mark.backends("mariadb")
def test_mariadb_last_insert_id_is_the_sequence_value_after_a_draw(in_transaction):
    """docs/databases.md: each draw overwrites LAST_INSERT_ID(); the ORM's pk is unaffected."""
    with transaction.atomic():
        ticket = Ticket.objects.create(number=500)
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT LAST_INSERT_ID()")
            assert cursor.fetchone()[0] == ticket.pk
            value = get_next_value("invoices", initial_value=1000)
            cursor.execute("SELECT LAST_INSERT_ID()")
            assert cursor.fetchone()[0] == value == 1000
    assert Ticket.objects.get(pk=ticket.pk).number == 500


@pytest.mark.backends("mariadb")
@pytest.mark.django_db(transaction=True)
def test_mariadb_without_strict_mode_overflow_still_raises_and_writes_nothing():
    """docs/databases.md: the upsert's NULL is refused whatever the sql_mode."""
    from sequences.models import Sequence

    Sequence.objects.create(name="full", last=MAX_VALUE)
    connection = connections["default"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@SESSION.sql_mode")
        (saved,) = cursor.fetchone()
        cursor.execute("SET SESSION sql_mode = ''")
    try:
        with pytest.raises(SequenceOverflow), transaction.atomic():
            get_next_value("full")
        with connection.cursor() as cursor:
            cursor.execute("SELECT @@SESSION.sql_mode")
            assert cursor.fetchone()[0] == ""  # the test ran without strict mode
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION sql_mode = %s", [saved])
    assert get_last_value("full") == MAX_VALUE


def test_api_page_interactive_examples_print_what_they_say(in_transaction):
    """Every ``>>>`` line of docs/api.md, evaluated, gives the line shown after it."""
    import sequences

    examples = re.findall(r"^>>> (.+)\n(.+)$", (DOCS / "api.md").read_text(), re.MULTILINE)
    assert examples
    namespace = {name: getattr(sequences, name) for name in sequences.__all__}
    for expression, shown in examples:
        assert repr(eval(expression, namespace)) == shown, expression
