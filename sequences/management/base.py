"""What the ``sequence_*`` management commands share: options, parsing, output.

Conventions (documented in docs/commands.md): data goes to stdout, chatter to
stderr; user errors are :class:`~django.core.management.CommandError` (exit
code 1); argparse usage errors exit with 2.
"""

from __future__ import annotations

import getpass
import re
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections, router

from ..validation import MAX_VALUE, check_name, check_timeout

_INTEGER = re.compile(r"[+-]?[0-9]+")


def os_username() -> str:
    """Who ran the command, for the audit trail: ``"<OS user> (manage.py)"``."""
    try:
        user = getpass.getuser()
    except Exception:  # no login name and no passwd entry (some containers)
        user = "unknown"
    return f"{user[:240]} (manage.py)"


def parse_name(value: object) -> str:
    try:
        return check_name(value)
    except (TypeError, ValueError) as exc:
        raise CommandError(f"Invalid sequence name: {exc}.") from None


def parse_int(value: object, option: str, *, minimum: int, maximum: int = MAX_VALUE) -> int:
    """An integer option given on the command line (a str) or to ``call_command`` (an int)."""
    allowed = f"{option} must be an integer from {minimum} to {maximum}"
    if isinstance(value, bool):
        raise CommandError(f"{allowed}, got {value!r}.")
    if isinstance(value, str):
        if not _INTEGER.fullmatch(value.strip()):
            raise CommandError(f"{allowed}, got {value!r}.")
        value = int(value)
    if not isinstance(value, int):
        raise CommandError(f"{allowed}, got {value!r}.")
    if not minimum <= value <= maximum:
        raise CommandError(f"{allowed}, got {value}.")
    return value


def parse_timeout(value: object) -> float | None:
    """``--timeout SECONDS``: ``None`` when not given (the project's default)."""
    if value is None:
        return None
    allowed = "--timeout must be a number of seconds, 0 or more (inf: no limit)"
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise CommandError(f"{allowed}, got {value!r}.") from None
    try:
        return check_timeout(value, "--timeout")
    except (TypeError, ValueError):
        raise CommandError(f"{allowed}, got {value!r}.") from None


def add_timeout_argument(parser: CommandParser) -> None:
    parser.add_argument(
        "--timeout",
        metavar="SECONDS",
        help=(
            "Wait at most this long for a transaction that holds the sequence, then "
            "fail without changing anything (default: SEQUENCES_LOCK_TIMEOUT, or as "
            "long as the database waits)."
        ),
    )


def _plain(text: str) -> str:
    return text


class SequenceCommand(BaseCommand):
    """Base of the ``sequence_*`` commands."""

    # Operators repair sequences from these commands: unrelated system check
    # errors in the project must not stop them.
    requires_system_checks: list[str] = []
    #: Whether the command writes (router's write database) or only reads.
    writes = True

    def add_arguments(self, parser: CommandParser) -> None:
        which = "db_for_write" if self.writes else "db_for_read"
        parser.add_argument(
            "--database",
            metavar="ALIAS",
            help=f"Database alias to use (default: the router's {which} for sequences).",
        )

    def execute(self, *args: Any, **options: Any) -> str | None:
        self.verbosity = int(options.get("verbosity", 1))
        return super().execute(*args, **options)

    def database(self, options: dict[str, Any]) -> str:
        from ..models import Sequence

        alias = options.get("database")
        if alias is None:
            if self.writes:
                return router.db_for_write(Sequence)
            return router.db_for_read(Sequence)
        if alias not in connections.settings:
            known = ", ".join(repr(name) for name in connections.settings)
            raise CommandError(
                f"Unknown database alias {alias!r}; the configured aliases are {known}."
            )
        return str(alias)

    def ask_yes(self, prompt: str, *, what: str, verb: str) -> None:
        """Ask on stderr for ``yes``; raise :class:`CommandError` unless it is typed.

        ``what`` names the change in the messages ("Reset", "Conversion") and
        ``verb`` the action (``"reset"``, ``"convert"``). End of input (cron, an
        empty pipe) is no answer, which is not the same as "no": the error
        says so and points to ``--no-input``.
        """
        self.stderr.write(prompt, ending="", style_func=lambda text: text)
        self.stderr.flush()
        try:
            answer = input()
        except EOFError:
            self.stderr.write("", style_func=lambda text: text)
            raise CommandError(
                f"{what} not done: standard input ended before an answer to confirm with "
                f"was read; nothing was changed. To {verb} without confirmation (in a "
                "script), pass --no-input."
            ) from None
        except KeyboardInterrupt:
            answer = ""
        if answer.strip().lower() != "yes":
            raise CommandError(f"{what} cancelled; nothing was changed.")

    def say(
        self, message: str, *, level: int = 1, style: Callable[[str], str] | None = None
    ) -> None:
        """Chatter: to stderr, shown from verbosity ``level`` up."""
        if self.verbosity >= level:
            self.stderr.write(message, style_func=style or _plain)
