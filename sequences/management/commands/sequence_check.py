"""``manage.py sequence_check APP.Model.field --sequence NAME | --series PATH``: the gap audit.

Exit status: 0 when clean, 1 when anything is found (as ``makemigrations
--check``), 2 on a usage error. That last one is an exception to the other
``sequence_*`` commands, whose user errors exit 1: here 1 must mean "found
something", so that cron and monitoring can tell a finding from a typo.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist, FieldError, ValidationError
from django.core.management.base import CommandError, CommandParser
from django.db import models, router
from django.utils.module_loading import import_string

from ... import reset_sequence
from ...check import CheckReport, SequenceReport, check_sequence, check_series, compress
from ...exceptions import SequenceLocked, SequenceValueChanged
from ...models import SequenceChange
from ...numbering import NumberSeries
from ..base import (
    SequenceCommand,
    add_timeout_argument,
    os_username,
    parse_int,
    parse_name,
    parse_timeout,
)


def _documents(count: int) -> str:
    return f"{count} document" if count == 1 else f"{count} documents"


def usage(message: str) -> CommandError:
    """A usage error: exit status 2, apart from the 1 that means "findings"."""
    return CommandError(message, returncode=2)


class Command(SequenceCommand):
    help = (
        "Compare the numbers stored in a document table with the sequence that issued "
        "them (--sequence, an integer field) or with every sequence of a NumberSeries "
        "(--series, formatted numbers): missing, duplicate, ahead and unparseable "
        "numbers. Exit status 0 when clean, 1 on findings, 2 on a usage error."
    )
    writes = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "target",
            metavar="APP.Model.field",
            help="The field that stores the numbers, e.g. billing.Invoice.number.",
        )
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument(
            "--sequence", metavar="NAME", help="Check an integer field against this sequence."
        )
        which.add_argument(
            "--series",
            metavar="dotted.path",
            help="Check formatted numbers against every sequence of this NumberSeries.",
        )
        parser.add_argument(
            "--start",
            metavar="N",
            help=(
                "With --sequence: the first value the sequence issued (default: the lowest "
                "number found, as the sequences table does not store initial_value)."
            ),
        )
        parser.add_argument(
            "--filter",
            metavar="FIELD=VALUE",
            action="append",
            default=[],
            help="Check only the documents where FIELD equals VALUE (repeatable).",
        )
        parser.add_argument(
            "--format",
            choices=["table", "json"],
            default="table",
            help="Output format (default: table). The JSON format is documented and stable.",
        )
        parser.add_argument(
            "--limit",
            metavar="N",
            default="100",
            help="List at most N items of each kind (default: 100); totals are always given.",
        )
        parser.add_argument(
            "--fix-forward",
            action="store_true",
            help=(
                "Move each sequence that is behind its documents up to MAX + 1, audited "
                "(never backwards; nothing else is fixed). Needs --reason."
            ),
        )
        parser.add_argument(
            "--reason", metavar="TEXT", help="Why --fix-forward moves the sequence (audited)."
        )
        add_timeout_argument(parser)
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        model, field_name = self.parse_target(options["target"])
        filters = self.parse_filters(model, options["filter"])
        limit = self.parse(lambda: parse_int(options["limit"], "--limit", minimum=1))
        fix = bool(options["fix_forward"])
        reason = options.get("reason")
        if fix and (not isinstance(reason, str) or not reason.strip()):
            raise usage("--fix-forward needs --reason TEXT: say why (it is kept in the audit).")
        if reason is not None and not fix:
            raise usage("--reason only goes with --fix-forward.")
        timeout = self.parse(lambda: parse_timeout(options.get("timeout")))
        if timeout is not None and not fix:
            raise usage("--timeout only goes with --fix-forward (the check itself takes no lock).")
        self.writes = fix
        alias = self.parse(lambda: self.database(options))
        if options.get("sequence") is not None:
            report = self.check_sequence(model, field_name, filters, alias, limit, options)
        else:
            if options.get("start") is not None:
                raise usage(
                    "--start goes with --sequence only: a series starts each period at its "
                    "initial_value."
                )
            report = self.check_series(model, field_name, filters, alias, limit, options)
        if options["format"] == "json":
            self.stdout.write(json.dumps(report.as_json(), indent=2))
        else:
            self.write_table(report)
        if fix:
            self.fix_forward(report, alias, reason or "", timeout)
        if not report.clean:
            # As ``makemigrations --check``: the status is the verdict.
            sys.exit(1)

    # Arguments

    @staticmethod
    def parse(read: Any) -> Any:
        try:
            return read()
        except CommandError as exc:
            raise usage(str(exc)) from None

    def parse_target(self, target: str) -> tuple[type[models.Model], str]:
        app_model, _, field_name = str(target).rpartition(".")
        if not app_model or "." not in app_model or not field_name:
            raise usage(f"Expected APP.Model.field (e.g. billing.Invoice.number), got {target!r}.")
        try:
            model = apps.get_model(app_model)
        except (LookupError, ValueError):
            raise usage(
                f"Unknown model {app_model!r}: expected APP_LABEL.ModelName of an installed app."
            ) from None
        try:
            field = model._meta.get_field(field_name)
        except FieldDoesNotExist:
            names = ", ".join(f.name for f in model._meta.concrete_fields)
            raise usage(
                f"{model._meta.label} has no field {field_name!r}; its fields are {names}."
            ) from None
        if not getattr(field, "concrete", False):
            raise usage(f"{model._meta.label}.{field_name} is not stored in the table.")
        return model, field_name

    def parse_filters(self, model: type[models.Model], items: list[str]) -> dict[str, str]:
        filters: dict[str, str] = {}
        for item in items:
            name, equals, value = str(item).partition("=")
            if not equals or not name:
                raise usage(f"--filter expects FIELD=VALUE, got {item!r}.")
            filters[name] = value
        if filters:
            alias = router.db_for_read(model)
            try:
                query = model._default_manager.using(alias).filter(**filters).query
                # Compiling converts the values: bad ones fail here, before any SQL.
                query.get_compiler(alias).as_sql()
            except (FieldError, ValueError, TypeError, ValidationError) as exc:
                raise usage(f"Invalid --filter for {model._meta.label}: {exc}") from None
        return filters

    # Checks

    def check_sequence(
        self,
        model: type[models.Model],
        field_name: str,
        filters: dict[str, str],
        alias: str,
        limit: int,
        options: dict[str, Any],
    ) -> CheckReport:
        name = self.parse(lambda: parse_name(options["sequence"]))
        field = model._meta.get_field(field_name)
        if not isinstance(field, models.IntegerField):
            raise usage(
                f"--sequence needs an integer field; {model._meta.label}.{field_name} is a "
                f"{type(field).__name__}. For formatted numbers, use --series."
            )
        start = None
        if options.get("start") is not None:
            start = self.parse(lambda: parse_int(options["start"], "--start", minimum=0))
        try:
            return check_sequence(
                model,
                field_name,
                name,
                start=start,
                filters=filters,
                using=alias,
                limit=limit,
            )
        except LookupError:
            raise usage(f"Sequence {name!r} does not exist on database {alias!r}.") from None

    def check_series(
        self,
        model: type[models.Model],
        field_name: str,
        filters: dict[str, str],
        alias: str,
        limit: int,
        options: dict[str, Any],
    ) -> CheckReport:
        path = options["series"]
        try:
            series = import_string(path)
        except ImportError as exc:
            raise usage(
                f"Cannot import --series {path!r}: {exc}. Expected the dotted path of a "
                "NumberSeries, e.g. billing.numbering.INVOICES."
            ) from None
        if not isinstance(series, NumberSeries):
            raise usage(
                f"--series {path!r} is a {type(series).__name__}, not a sequences.NumberSeries."
            )
        return check_series(model, field_name, series, filters=filters, using=alias, limit=limit)

    # Output

    def write_table(self, report: CheckReport) -> None:
        write = self.stdout.write
        where = f"documents on {report.documents_database!r}, sequences on "
        where += f"{report.sequences_database!r}"
        filters = ", ".join(f"{name}={value}" for name, value in report.filters.items())
        write(
            f"{report.model}.{report.field_name}"
            + (f" where {filters}" if filters else "")
            + f" ({where}): {report.rows} documents, {report.null} without a number."
        )
        if not report.one_snapshot:
            write("Note: documents and sequences were not read from one snapshot.")
        if report.unparseable_count:
            write(
                f"Unparseable ({report.unparseable_count}): "
                + ", ".join(repr(text) for text in report.unparseable)
                + (", ..." if report.unparseable_count > len(report.unparseable) else "")
            )
        for sequence in report.sequences:
            self.write_sequence(sequence)
        if not report.sequences:
            write("No sequence to check.")
        if report.clean:
            write("Clean: nothing missing, duplicated or ahead.")
        else:
            write(f"{report.findings} findings.")

    def write_sequence(self, sequence: SequenceReport) -> None:
        write = self.stdout.write
        last = "does not exist" if sequence.last is None else f"last {sequence.last}"
        write(
            f"Sequence {sequence.name!r} ({last}, start {sequence.start}): "
            f"{_documents(sequence.documents)}"
            + (f", {sequence.below_start} below the start" if sequence.below_start else "")
            + "."
        )

        def more(truncated: bool) -> str:
            return ", ..." if truncated else ""

        if sequence.missing_count:
            write(
                f"  missing ({sequence.missing_count}): "
                + compress(sequence.missing_ranges)
                + more(sequence.missing_truncated)
            )
        if sequence.duplicate_count:
            write(
                f"  duplicates ({sequence.duplicate_count}): "
                + ", ".join(
                    f"{value} ({_documents(count)})" for value, count in sequence.duplicates
                )
                + more(sequence.duplicate_truncated)
            )
        if sequence.ahead_count:
            write(
                f"  AHEAD of the sequence ({_documents(sequence.ahead_count)}; the next "
                "draws will issue these again): "
                + ", ".join(str(value) for value in sequence.ahead_values)
                + more(sequence.ahead_truncated)
            )
        for explanation in sequence.explained:
            if not explanation.missing:
                continue
            change = explanation.change
            write(
                f"  explained ({explanation.missing}): "
                + compress([(explanation.first, explanation.last)])
                + f" skipped by {change.action} #{change.pk} at "
                + change.created_at.isoformat(sep=" ", timespec="seconds")
                + (f" by {change.username}" if change.username else "")
                + (f": {change.reason}" if change.reason else "")
            )

    # Fix forward

    def fix_forward(
        self, report: CheckReport, alias: str, reason: str, timeout: float | None
    ) -> None:
        for sequence in report.sequences:
            highest = sequence.highest
            if highest is None or (sequence.last is not None and highest <= sequence.last):
                self.say(
                    f"Sequence {sequence.name!r} is not behind its documents; left as it is "
                    "(--fix-forward never moves a sequence backwards)."
                )
                continue
            try:
                reset_sequence(
                    sequence.name,
                    highest + 1,
                    expected_last=sequence.last,
                    reason=reason,
                    source=SequenceChange.Source.COMMAND,
                    username=os_username(),
                    timeout=timeout,
                    using=alias,
                )
            except (SequenceValueChanged, SequenceLocked) as exc:
                raise CommandError(f"{exc} Nothing was changed; run the check again.") from None
            except ValueError as exc:  # the documents are numbered up to the largest value
                raise CommandError(
                    f"Sequence {sequence.name!r} cannot move past its documents' largest "
                    f"number {highest}: {exc}. Nothing was changed."
                ) from None
            self.say(
                f"Moved sequence {sequence.name!r} forward: its next value is {highest + 1} "
                f"(was {1 if sequence.last is None else sequence.last + 1}).",
                style=self.style.SUCCESS,
            )
