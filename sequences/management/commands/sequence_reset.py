"""``manage.py sequence_reset NAME --next N --reason TEXT``: the audited reset."""

from __future__ import annotations

import shlex
from typing import Any

from django.core.management.base import CommandError, CommandParser

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
        "Set sequence NAME so that its next value is N, through reset_sequence(): "
        "locked, compare-and-set and recorded in the audit trail with the reason. "
        "Asks for confirmation unless --noinput (or --no-input)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", metavar="NAME", help="Sequence name (1 to 100 characters).")
        parser.add_argument(
            "--next",
            metavar="N",
            required=True,
            help="The next value get_next_value(NAME) returns after the reset (at least 1).",
        )
        parser.add_argument(
            "--reason",
            metavar="TEXT",
            required=True,
            help="Why the sequence changes; kept in the audit trail.",
        )
        parser.add_argument(
            "--allow-reuse",
            action="store_true",
            help="Allow moving the sequence back, which hands out values again.",
        )
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="Do not ask for confirmation.",
        )
        add_timeout_argument(parser)
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        name = parse_name(options["name"])
        next_value = parse_int(options["next"], "--next", minimum=1)
        reason = options["reason"]
        if not isinstance(reason, str) or not reason.strip():
            raise CommandError(
                "--reason must say why the sequence changes (it is kept in the audit "
                "trail); got an empty reason."
            )
        allow_reuse = bool(options["allow_reuse"])
        timeout = parse_timeout(options.get("timeout"))
        alias = self.database(options)
        last = get_last_value(name, using=alias)
        if last is None:
            raise CommandError(
                f"Sequence {name!r} does not exist on database {alias!r}. To create it, "
                f"run: manage.py sequence_init {shlex.quote(name)} --initial {next_value}"
            )
        new_last = next_value - 1
        if new_last == last:
            self.say(
                f"Sequence {name!r} on database {alias!r} already has next value "
                f"{next_value}; nothing changed."
            )
            return
        reissued = describe_span(next_value, last) if new_last < last else None
        if reissued and not allow_reuse:
            raise CommandError(
                f"Moving sequence {name!r} back to next value {next_value} would hand out "
                f"{reissued} again; pass --allow-reuse if that is really meant."
            )
        if options.get("interactive", True):
            self.confirm(name, alias, last, next_value, reissued)
        try:
            reset_sequence(
                name,
                next_value,
                expected_last=last,
                reason=reason,
                allow_reuse=allow_reuse,
                source=SequenceChange.Source.COMMAND,
                username=os_username(),
                timeout=timeout,
                using=alias,
            )
        except (SequenceValueChanged, SequenceLocked) as exc:
            raise CommandError(str(exc)) from None
        self.say(
            f"Reset sequence {name!r} on database {alias!r}: its next value is "
            f"{next_value} (was {last + 1}).",
            style=self.style.SUCCESS,
        )

    def confirm(
        self, name: str, alias: str, last: int, next_value: int, reissued: str | None
    ) -> None:
        lines = [
            f"Sequence {name!r} on database {alias!r}: last value {last}, next value {last + 1}.",
            f"After the reset, its next value will be {next_value}.",
        ]
        if reissued:
            lines.append(f"Values {reissued} will be handed out again.")
        self.stderr.write("\n".join(lines), style_func=lambda text: text)
        self.ask_yes("Type 'yes' to reset it: ", what="Reset", verb="reset")
