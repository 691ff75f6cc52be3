"""``manage.py sequence_collation``: how names match on MariaDB/MySQL, and changing it.

Without an option: show each name column's collation (read-only).
``--list-near-duplicates``: names that were one sequence under 3.1's matching.
``--exact``: convert to exact (binary, no-pad) matching; ``--table-default``:
back to the table's default collation, as django-sequences 3.1 made it. Both
list the existing names, ask for confirmation (unless ``--no-input``) and
write one ``SequenceChange`` per sequence. See docs/collation.md.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import connections, transaction

from ... import collation as names_collation
from ...changes import record_change
from ...models import Sequence, SequenceChange
from ..base import SequenceCommand, os_username


def _server(connection: Any) -> str:
    if connection.vendor != "mysql":
        return str(connection.vendor)
    kind = "MariaDB" if connection.mysql_is_mariadb else "MySQL"
    return f"{kind} {'.'.join(str(part) for part in connection.mysql_version)}"


class Command(SequenceCommand):
    help = (
        "Show how sequence names are matched on MariaDB/MySQL, list names that were one "
        "sequence under django-sequences 3.1 (--list-near-duplicates), or convert to exact "
        "matching (--exact) or back to the table's default collation (--table-default), "
        "audited. Converting asks for confirmation unless --no-input."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        action = parser.add_mutually_exclusive_group()
        action.add_argument(
            "--list-near-duplicates",
            action="store_true",
            help="List groups of names that the folding collation takes for one name.",
        )
        action.add_argument(
            "--exact",
            action="store_true",
            help="Convert both name columns to exact (binary, no-pad) matching.",
        )
        action.add_argument(
            "--table-default",
            action="store_true",
            help="Convert both name columns to the folding collation (3.1's matching).",
        )
        parser.add_argument(
            "--collation",
            metavar="NAME",
            help=(
                "The folding collation for --list-near-duplicates and --table-default "
                "(default: the sequence table's default collation, in utf8mb4)."
            ),
        )
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="Do not ask for confirmation.",
        )
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        alias = self.database(options)
        connection = connections[alias]
        if connection.vendor != "mysql":
            if options.get("collation"):
                raise CommandError(
                    f"--collation applies to MariaDB and MySQL only; database {alias!r} "
                    f"is {connection.vendor}."
                )
            self.say(
                f"Database {alias!r} ({connection.vendor}) compares sequence names exactly, "
                "as django-sequences 3.1 did on it: there are no near-duplicates and "
                "nothing to convert."
            )
            return
        if options.get("collation") and not (
            options["list_near_duplicates"] or options["table_default"]
        ):
            raise CommandError(
                "--collation names the folding collation: it applies to "
                "--list-near-duplicates and --table-default only."
            )
        names, audit = names_collation.name_columns()
        current = {
            column: names_collation.column_collation(connection, column)
            for column in (names, audit)
        }
        if None in current.values():
            raise CommandError(
                f"The sequences tables on database {alias!r} are not migrated; run "
                f"manage.py migrate --database {alias} first."
            )
        folding = self.folding(connection, names, options.get("collation"))
        if options["list_near_duplicates"]:
            self.list_near_duplicates(connection, alias, names, folding)
        elif options["exact"]:
            try:
                target = names_collation.require_server_exact_collation(connection)
            except names_collation.ExactMatchingUnavailable as exc:
                raise CommandError(str(exc)) from None
            self.convert(connection, alias, current, target, options, exact=True)
        elif options["table_default"]:
            self.convert(connection, alias, current, folding, options, exact=False)
        else:
            self.status(connection, alias, current, names)

    def folding(self, connection: Any, names: Any, collation: str | None) -> str:
        if collation is None:
            return names_collation.folding_collation(connection, names.table)
        try:
            return names_collation.check_collation_name(connection, collation)
        except ValueError as exc:
            raise CommandError(f"--collation: {exc}") from None

    def status(self, connection: Any, alias: str, current: dict[Any, Any], names: Any) -> None:
        exact = names_collation.server_exact_collation(connection)
        default = names_collation.table_default_collation(connection, names.table)
        lines = [f"Database {alias!r} ({_server(connection)}):"]
        for column, collation in current.items():
            if collation in names_collation.EXACT_COLLATIONS:
                how = "exact matching"
            elif collation == default:
                how = "the table's default, as django-sequences 3.1 made it"
            else:
                how = f"neither exact nor the table's default ({default})"
            lines.append(f"  {column.table}.{column.column}: {collation} ({how})")
        lines.append(
            f"  exact matching on this server: {exact}"
            if exact
            else "  exact matching on this server: unavailable (MySQL before 8.0.17)"
        )
        self.stdout.write("\n".join(lines))

    def list_near_duplicates(self, connection: Any, alias: str, names: Any, folding: str) -> None:
        groups = names_collation.near_duplicates(connection, names, "last", folding)
        if not groups:
            self.say(f"No near-duplicates on database {alias!r} under {folding}.")
            return
        self.say(
            f"{len(groups)} group(s) of names on database {alias!r} that {folding} "
            "takes for one name (one sequence under django-sequences 3.1):"
        )
        for number, group in enumerate(groups, 1):
            merged = max(last for _, last in group) + 1
            self.stdout.write(f"group {number} (next value after merging: {merged}):")
            for name, last in group:
                self.stdout.write(f"  {name!r}\tlast {last}")

    def convert(
        self,
        connection: Any,
        alias: str,
        current: dict[Any, Any],
        target: str,
        options: dict[str, Any],
        *,
        exact: bool,
    ) -> None:
        names = next(iter(current))
        if all(collation == target for collation in current.values()):
            self.say(f"Both name columns on database {alias!r} use {target}; nothing changed.")
            return
        # Distinct under a folding collation implies distinct under a binary
        # one, so only --table-default can collide; the check costs one query.
        collisions = names_collation.near_duplicates(connection, names, "last", target)
        if collisions:
            shown = "; ".join(", ".join(repr(name) for name, _ in group) for group in collisions)
            raise CommandError(
                f"Refused: under {target}, these names on database {alias!r} would be one "
                f"sequence: {shown}. Merge each group first (docs/collation.md); nothing "
                "was changed."
            )
        # Sorted here: the database would sort by the collation being replaced.
        sequences = sorted(Sequence.objects.using(alias).values_list("name", "last"))
        self.say(f"Sequences on database {alias!r} ({len(sequences)}):")
        for name, last in sequences:
            self.stdout.write(f"{name!r}\tlast {last}")
        before = current[names]
        if exact:
            explanation = (
                f"Names will match exactly ({target}): every caller must use the stored "
                "spelling above, byte for byte (case, accents, trailing spaces). A caller "
                "that used another spelling, which reached the same sequence until now, "
                "will start a new sequence at its initial value."
            )
        else:
            explanation = (
                f"Names will match under {target}: names that differ only in case, accents "
                "or trailing spaces will be one sequence, as under django-sequences 3.1."
            )
        self.say(f"Name matching changes from {before} to {target}. {explanation}")
        if options.get("interactive", True):
            self.confirm()
        # The audit trail's column first: a run interrupted between the two
        # leaves ``name`` as it was, and sequences.E001 reports the mismatch.
        for column, collation in reversed(current.items()):
            if collation != target:
                names_collation.set_column_collation(connection, column, target)
        reason = f"Name matching changed from {before} to {target}."
        if exact:
            reason += " Callers must use the stored spelling exactly."
        with transaction.atomic(using=alias):
            for name, last in Sequence.objects.using(alias).values_list("name", "last"):
                record_change(
                    SequenceChange,
                    name,
                    using=alias,
                    action=SequenceChange.Action.COLLATION,
                    last_before=last,
                    last_after=last,
                    reason=reason,
                    source=SequenceChange.Source.COMMAND,
                    username=os_username(),
                )
        self.say(
            f"Both name columns on database {alias!r} now use {target}.",
            style=self.style.SUCCESS,
        )

    def confirm(self) -> None:
        self.ask_yes("Type 'yes' to convert: ", what="Conversion", verb="convert")
