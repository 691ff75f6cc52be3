"""Keep the shipped translations current: ``python -m tests.translations check|update``.

``check`` runs ``makemessages`` for every shipped language on a copy of each
app (the working tree is never touched) and fails when the catalogues are
stale:

- an entry that makemessages adds (a new source string, untranslated) or marks
  fuzzy (a changed source string), or that is still untranslated;
- an entry that it makes obsolete (a string gone from the source);
- any other difference from the committed ``.po`` (a string that moved to
  another file, say), the ``POT-Creation-Date`` header line excepted;
- a ``.mo`` file that is missing, or whose catalogue differs from what
  ``msgfmt`` compiles from the committed ``.po``.

``update`` runs the same ``makemessages`` in place, then compiles every
``.po``: what a contributor runs after changing a string (``make messages``).

Both need GNU gettext. Without it, ``check`` exits 0 with a one-line notice,
except under ``CI=true``, where a missing gettext fails.
"""

from __future__ import annotations

import argparse
import difflib
import gettext
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: The apps that carry a ``locale`` folder.
APPS = ("sequences", "sequences_admin")

#: The languages every app ships; more may be added as folders under ``locale``.
SHIPPED_LANGUAGES = ("de", "es", "fr")

#: makemessages options, the same for ``check`` and ``update``. Locations
#: name the file without a line number, so that moving code does not stale
#: the catalogues.
MAKEMESSAGES_OPTIONS = ("--add-location=file",)

#: The header line that makemessages rewrites on every run.
VOLATILE_HEADER = re.compile(r'^"POT-Creation-Date: [^"]*\\n"\n', re.MULTILINE)

GETTEXT_TOOLS = ("xgettext", "msgmerge", "msguniq", "msgattrib", "msgfmt")

FIX = (
    "Run `make messages`, translate the new and fuzzy entries of each language "
    "(and drop the fuzzy flags), run `make messages` again to compile, then commit "
    "the .po and .mo files."
)


def missing_gettext() -> str | None:
    """Why the check cannot run here, or None when GNU gettext is installed."""
    absent = [tool for tool in GETTEXT_TOOLS if shutil.which(tool) is None]
    if absent:
        return f"GNU gettext is missing ({', '.join(absent)}): apt-get install -y gettext"
    return None


@dataclass
class Entry:
    """One message of a ``.po`` file."""

    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstrs: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False

    @property
    def is_header(self) -> bool:
        return self.msgid == "" and self.msgctxt is None

    def describe(self) -> str:
        context = f" (context {self.msgctxt!r})" if self.msgctxt is not None else ""
        return f"{self.msgid!r}{context}"


_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "r": "\r"}
_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+"(.*)"$')


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text)


def parse_po(text: str) -> list[Entry]:
    """The entries of a ``.po`` file as gettext writes them (obsolete ones included)."""
    entries = []
    for block in re.split(r"\n\s*\n", text.strip()):
        entry, current = Entry(), None
        for raw in block.splitlines():
            line = raw
            if line.startswith("#~"):
                entry.obsolete = True
                line = line[2:].lstrip()
                if line.startswith("|"):  # a previous msgid: not part of the entry
                    continue
            elif line.startswith("#,"):
                entry.flags.update(flag.strip() for flag in line[2:].split(","))
                continue
            elif line.startswith("#"):
                continue
            keyword = _KEYWORD.match(line)
            if keyword:
                current = keyword.group(1)
                value = _unquote(keyword.group(2))
                if current.startswith("msgstr"):
                    entry.msgstrs.append(value)
                else:
                    setattr(entry, current, value)
            elif line.startswith('"') and current is not None:
                value = _unquote(line.strip()[1:-1])
                if current.startswith("msgstr"):
                    entry.msgstrs[-1] += value
                else:
                    setattr(entry, current, (getattr(entry, current) or "") + value)
        if entry.msgstrs:
            entries.append(entry)
    return entries


def _run(command: list[str], cwd: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    # Without settings, makemessages configures its own (USE_I18N=True) and
    # scans the current folder only: the app, not the project around it.
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed in {cwd} (exit {result.returncode}):\n"
            f"{result.stdout}{result.stderr}"
        )


def languages(app_dir: Path) -> list[str]:
    """The languages an app ships: the required ones and any other ``locale`` folder."""
    locale = app_dir / "locale"
    found = {path.name for path in locale.iterdir() if path.is_dir()} if locale.is_dir() else set()
    return sorted(found | set(SHIPPED_LANGUAGES))


def makemessages(app_dir: Path, langs: list[str]) -> None:
    """Extract the app's strings into ``locale/<lang>/LC_MESSAGES/django.po``, in place."""
    (app_dir / "locale").mkdir(exist_ok=True)
    options = [option for lang in langs for option in ("--locale", lang)]
    _run(
        [sys.executable, "-m", "django", "makemessages", *options, *MAKEMESSAGES_OPTIONS], app_dir
    )


def compile_po(po: Path, mo: Path) -> None:
    """What ``compilemessages`` runs, without its skip-when-newer shortcut."""
    _run(["msgfmt", "--check-format", "-o", str(mo), str(po)], po.parent)


def _catalog(mo: Path) -> dict[object, str]:
    """A compiled catalogue as Python's gettext reads it, creation date left out."""
    with mo.open("rb") as file:
        catalog = dict(gettext.GNUTranslations(file)._catalog)  # type: ignore[attr-defined]
    catalog[""] = re.sub(r"^POT-Creation-Date:.*\n", "", catalog.get("", ""), flags=re.MULTILINE)
    return catalog


def _po_problems(relative: str, committed: str, regenerated: str) -> list[str]:
    problems = []
    entries = parse_po(regenerated)
    untranslated = [
        e
        for e in entries
        if not e.obsolete and not e.is_header and "fuzzy" not in e.flags and not all(e.msgstrs)
    ]
    fuzzy = [e for e in entries if not e.obsolete and "fuzzy" in e.flags]
    obsolete = [e for e in entries if e.obsolete]
    for label, found in (
        ("new or untranslated", untranslated),
        ("fuzzy", fuzzy),
        ("obsolete (gone from the source)", obsolete),
    ):
        if found:
            listed = ", ".join("the header" if e.is_header else e.describe() for e in found)
            problems.append(f"{relative}: {len(found)} {label}: {listed}")
    before, after = VOLATILE_HEADER.sub("", committed), VOLATILE_HEADER.sub("", regenerated)
    if not problems and before != after:
        diff = difflib.unified_diff(
            before.splitlines(), after.splitlines(), "committed", "makemessages", lineterm="", n=1
        )
        shown = "\n    ".join(list(diff)[:20])
        problems.append(f"{relative}: differs from what makemessages writes:\n    {shown}")
    return problems


def check(root: Path = ROOT, *, apps: Iterable[str] = APPS) -> list[str]:
    """Every way in which the catalogues under ``root`` are stale; empty when current."""
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="translations-check-") as scratch:
        for app in apps:
            app_dir = root / app
            langs = languages(app_dir)
            copy = Path(scratch) / app
            shutil.copytree(
                app_dir, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo", "*.pyc")
            )
            makemessages(copy, langs)
            for lang in langs:
                messages = Path("locale", lang, "LC_MESSAGES")
                po, mo = app_dir / messages / "django.po", app_dir / messages / "django.mo"
                shown = f"{app}/{messages}/django"
                if not po.is_file():
                    problems.append(f"{shown}.po is missing.")
                    continue
                problems += _po_problems(
                    f"{shown}.po",
                    po.read_text("utf-8"),
                    (copy / messages / "django.po").read_text("utf-8"),
                )
                if not mo.is_file():
                    problems.append(f"{shown}.mo is missing.")
                    continue
                fresh = Path(scratch) / f"{app}-{lang}.mo"
                try:
                    compile_po(po, fresh)
                except RuntimeError as exc:
                    problems.append(f"{shown}.po does not compile: {exc}")
                    continue
                if _catalog(mo) != _catalog(fresh):
                    problems.append(f"{shown}.mo is not compiled from the current .po.")
    return problems


def update(root: Path = ROOT) -> None:
    """Refresh every app's ``.po`` files from the source, then compile them."""
    for app in APPS:
        app_dir = root / app
        langs = languages(app_dir)
        makemessages(app_dir, langs)
        for lang in langs:
            po = app_dir / "locale" / lang / "LC_MESSAGES" / "django.po"
            compile_po(po, po.with_suffix(".mo"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.translations", description=__doc__.split("\n")[0]
    )
    parser.add_argument("action", choices=["check", "update"])
    action = parser.parse_args(argv).action
    reason = missing_gettext()
    if reason is not None:
        if action == "check" and os.environ.get("CI") != "true":
            print(f"Translations check skipped: {reason}.")
            return 0
        print(f"Cannot {action} the translations: {reason}.", file=sys.stderr)
        return 1
    if action == "update":
        update()
        print("Translations updated: translate any new or fuzzy entries, then run it again.")
        return 0
    problems = check()
    if problems:
        print("The translations are stale:", *problems, FIX, sep="\n", file=sys.stderr)
        return 1
    print(f"Translations current: {', '.join(APPS)} in {', '.join(SHIPPED_LANGUAGES)}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
