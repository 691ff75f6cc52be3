"""``manage.py sequence_next NAME [--count K] [--initial N]``: draw and print values."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from ... import get_next_values
from ...api import atomic_with_timeout
from ...exceptions import SequenceLocked, SequenceOverflow
from ..base import SequenceCommand, add_timeout_argument, parse_int, parse_name, parse_timeout


class Command(SequenceCommand):
    help = (
        "Draw the next value (or --count values) of sequence NAME in a transaction "
        "of its own, commit it and print the values, one a line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", metavar="NAME", help="Sequence name (1 to 100 characters).")
        parser.add_argument(
            "--count",
            metavar="K",
            default=1,
            help="How many consecutive values to draw (default: 1).",
        )
        parser.add_argument(
            "--initial",
            metavar="N",
            default=1,
            help="initial_value if the sequence does not exist yet (default: 1).",
        )
        add_timeout_argument(parser)
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        name = parse_name(options["name"])
        count = parse_int(options["count"], "--count", minimum=1)
        initial = parse_int(options["initial"], "--initial", minimum=0)
        timeout = parse_timeout(options.get("timeout"))
        alias = self.database(options)
        try:
            with atomic_with_timeout(name, alias, timeout):
                values = get_next_values(count, name, initial, timeout=timeout, using=alias)
        except (ValueError, SequenceOverflow, SequenceLocked) as exc:  # 2**63 - 1, or held
            raise CommandError(str(exc)) from None
        self.say(f"Drew {count} value(s) of sequence {name!r} on database {alias!r}.", level=2)
        for value in values:
            self.stdout.write(str(value))
