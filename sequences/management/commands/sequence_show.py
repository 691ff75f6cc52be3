"""``manage.py sequence_show [NAME ...] [--format table|json]``: inspect sequences."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db.models import OuterRef, Subquery
from django.utils import translation

from ...models import Sequence, SequenceChange
from ...validation import MAX_VALUE, visible_name
from ..base import SequenceCommand, parse_name

#: One sequence as shown: name, last value, last audited change.
Row = tuple[str, int, SequenceChange | None]


def _next(last: int) -> int | None:
    return last + 1 if last < MAX_VALUE else None


def _change(change: SequenceChange | None) -> dict[str, Any] | None:
    if change is None:
        return None
    return {
        "action": change.action,
        "source": change.source,
        "at": change.created_at.isoformat(),
        "username": change.username,
        "last_before": change.last_before,
        "last_after": change.last_after,
        "allow_reuse": change.allow_reuse,
        "reason": change.reason,
    }


def _describe(change: SequenceChange | None) -> str:
    if change is None:
        return "-"
    when = change.created_at.isoformat(sep=" ", timespec="seconds")
    who = f", {change.username}" if change.username else ""
    # The action's label, in English as all command output: "initialise" for
    # "init", the word the admin shows too (the JSON keeps the stored value).
    with translation.override(None):
        action = str(change.get_action_display())
    return f"{action} {when} ({change.source}{who})"


class Command(SequenceCommand):
    help = (
        "Show sequences: name, last value, next value and the last audited change. "
        "All sequences without NAME; a NAME that does not exist is an error."
    )
    writes = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "names", metavar="NAME", nargs="*", help="Sequence names (default: all)."
        )
        parser.add_argument(
            "--format",
            choices=["table", "json"],
            default="table",
            help="Output format (default: table). The JSON format is documented and stable.",
        )
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        names = [parse_name(name) for name in options["names"]]
        alias = self.database(options)
        latest = (
            SequenceChange.objects.using(alias)
            .filter(sequence_name=OuterRef("name"))
            .order_by("-created_at", "-id")
            .values("id")[:1]
        )
        rows = Sequence.objects.using(alias).annotate(change_id=Subquery(latest))
        if names:
            rows = rows.filter(name__in=names)
        found = {
            name: (last, change_id)
            for name, last, change_id in rows.values_list("name", "last", "change_id")
        }
        missing = [name for name in dict.fromkeys(names) if name not in found]
        if missing:
            listed = ", ".join(repr(name) for name in missing)
            noun = "Sequence" if len(missing) == 1 else "Sequences"
            raise CommandError(f"{noun} not found on database {alias!r}: {listed}.")
        shown = list(dict.fromkeys(names)) if names else sorted(found)
        changes = SequenceChange.objects.using(alias).in_bulk(
            [found[name][1] for name in shown if found[name][1] is not None]
        )
        self.say(f"Database {alias!r}.", level=2)
        table = [(name, found[name][0], changes.get(found[name][1])) for name in shown]
        if options["format"] == "json":
            self.write_json(alias, table)
        elif not table:
            self.say(f"No sequences on database {alias!r}.")
        else:
            self.write_table(table)

    def write_json(self, alias: str, table: list[Row]) -> None:
        document = {
            "database": alias,
            "sequences": [
                {
                    "name": name,
                    "last": last,
                    "next": _next(last),
                    "last_change": _change(change),
                }
                for name, last, change in table
            ],
        }
        self.stdout.write(json.dumps(document, indent=2))

    def write_table(self, table: list[Row]) -> None:
        header = ("NAME", "LAST", "NEXT", "LAST CHANGE")
        lines = [
            (visible_name(name), str(last), str(_next(last) or "-"), _describe(change))
            for name, last, change in table
        ]
        widths = [max(len(line[i]) for line in [header, *lines]) for i in range(3)]
        for cells in [header, *lines]:
            self.stdout.write(
                f"{cells[0]:<{widths[0]}}  {cells[1]:>{widths[1]}}  "
                f"{cells[2]:>{widths[2]}}  {cells[3]}".rstrip()
            )
