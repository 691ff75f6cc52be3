"""``manage.py sequence_init NAME --initial N``: create a sequence at a chosen next value."""

from __future__ import annotations

import shlex
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import IntegrityError

from ... import get_last_value, reset_sequence
from ...changes import describe_span
from ...exceptions import SequenceLocked, SequenceValueChanged
from ...models import SequenceChange
from ..base import (
    SequenceCommand,
    add_timeout_argument,
    os_username,
    parse_int,
    parse_name,
    parse_timeout,
)


class Command(SequenceCommand):
    help = (
        "Create sequence NAME so that the next get_next_value(NAME) returns N. "
        "Succeeds without change if it already has that next value; fails if it "
        "has another one (use sequence_reset for that)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", metavar="NAME", help="Sequence name (1 to 100 characters).")
        parser.add_argument(
            "--initial",
            metavar="N",
            required=True,
            help="The next value get_next_value(NAME) returns: an integer of at least 1.",
        )
        add_timeout_argument(parser)
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        name = parse_name(options["name"])
        initial = parse_int(options["initial"], "--initial", minimum=0)
        if initial == 0:
            raise CommandError(
                "--initial 0 cannot be stored: the table keeps the last value handed "
                "out, which is never negative, so the smallest next value it can hold "
                "is 1. For a sequence that starts at 0, do not create it beforehand: "
                "get_next_value(NAME, initial_value=0) creates it and returns 0 "
                "(from the shell: sequence_next NAME --initial 0)."
            )
        timeout = parse_timeout(options.get("timeout"))
        alias = self.database(options)
        last = get_last_value(name, using=alias)
        if last is None:
            try:
                reset_sequence(
                    name,
                    initial,
                    expected_last=None,
                    reason="",
                    action=SequenceChange.Action.INIT,
                    source=SequenceChange.Source.COMMAND,
                    username=os_username(),
                    timeout=timeout,
                    using=alias,
                )
            except SequenceLocked as exc:
                raise CommandError(str(exc)) from None
            except (SequenceValueChanged, IntegrityError):
                raise CommandError(
                    f"Sequence {name!r} was created on database {alias!r} by someone else "
                    "while this command ran; nothing was changed. Run the command again "
                    "to see its state."
                ) from None
            self.say(
                f"Created sequence {name!r} on database {alias!r}: its next value is {initial}.",
                style=self.style.SUCCESS,
            )
        elif last == initial - 1:
            self.say(
                f"Sequence {name!r} on database {alias!r} already exists with next value "
                f"{initial}; nothing changed."
            )
        else:
            raise CommandError(
                f"Sequence {name!r} already exists on database {alias!r} with last value "
                f"{last} (next value {last + 1}), not next value {initial}. "
                + _reset_suggestion(name, last, initial)
            )


def _reset_suggestion(name: str, last: int, next_value: int) -> str:
    """The sequence_reset command that would set ``next_value``, as it must be typed to run."""
    command = f"manage.py sequence_reset {shlex.quote(name)} --next {next_value}"
    if next_value > last:
        return f"To change it, run: {command} --reason '...'"
    # Moving back is refused without --allow-reuse: suggest the command that
    # runs, and say in the same breath what it does to numbers already issued.
    return (
        f"Moving it back to next value {next_value} would hand out "
        f"{describe_span(next_value, last)} again (numbers already issued: duplicates). "
        f"If that is really meant, run: {command} --allow-reuse --reason '...'"
    )
