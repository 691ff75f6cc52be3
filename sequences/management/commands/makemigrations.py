"""Django's ``makemigrations`` plus ``--seed-sequence NAME=VALUE``.

Without ``--seed-sequence`` this is Django's command, unchanged. With it, the
command writes one migration in APP (like ``--empty``) whose operations are
:class:`sequences.operations.SeedSequence`, depending on APP's latest
migration, on the latest migration of ``sequences`` and on the latest
migration of every app whose model a ``NAME=app.Model.field`` seed reads.

Every method calls ``super()``, so a project can combine this command with
another app's ``makemigrations`` by subclassing both.
"""

from __future__ import annotations

from typing import Any, cast

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.core.management.base import CommandError, CommandParser
from django.core.management.commands import makemigrations
from django.db import models
from django.db.migrations import Migration
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations.base import Operation

from ...operations import SeedSequence, parse_field_path, sequences_app_label
from ..base import parse_int, parse_name


class Command(makemigrations.Command):
    help = (
        makemigrations.Command.help
        + " With --seed-sequence NAME=VALUE: a migration in APP that seeds sequences."
    )

    #: The seeds' operations and extra dependencies, while handling --seed-sequence.
    seed_plan: tuple[list[SeedSequence], list[tuple[str, str]]] | None = None

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--seed-sequence",
            action="append",
            dest="seed_sequences",
            default=[],
            metavar="NAME=VALUE",
            help=(
                "Write a migration in APP that seeds sequence NAME so that its next "
                "value is VALUE: an integer of at least 1, or app_label.Model.field for "
                "MAX(field) + 1 computed when the migration runs. Repeatable."
            ),
        )

    def handle(self, *app_labels: Any, **options: Any) -> None:
        self.seed_plan = None
        specs = options.get("seed_sequences") or []
        if specs:
            operations = [self.parse_seed(spec) for spec in specs]
            names = [operation.sequence_name for operation in operations]
            repeated = sorted({name for name in names if names.count(name) > 1})
            if repeated:
                raise CommandError(
                    f"--seed-sequence names each sequence once; repeated: "
                    f"{', '.join(map(repr, repeated))}."
                )
            refused = [
                option
                for option, key in (
                    ("--merge", "merge"),
                    ("--update", "update"),
                    ("--check", "check_changes"),
                )
                if options.get(key)
            ]
            if refused:
                raise CommandError(
                    f"--seed-sequence cannot be combined with {', '.join(refused)}; it "
                    "writes one new migration (like --empty)."
                )
            if len(set(app_labels)) != 1:
                raise CommandError(
                    "--seed-sequence needs exactly one app label, the app that gets the "
                    f"migration: makemigrations APP --seed-sequence NAME=VALUE (got "
                    f"{len(set(app_labels))})."
                )
            self.seed_plan = (operations, self.dependencies(app_labels[0], operations))
            options["empty"] = True
        super().handle(*app_labels, **options)

    def parse_seed(self, spec: Any) -> SeedSequence:
        text = str(spec)
        name, equals, value = text.rpartition("=")
        if not equals or not name or not value:
            raise CommandError(
                f"--seed-sequence must be NAME=VALUE, with VALUE an integer of at least 1 "
                f"or app_label.Model.field; got {text!r}."
            )
        name = parse_name(name)
        if "." in value:
            try:
                label, model_name, field_name = parse_field_path(value)
            except ValueError:
                raise CommandError(
                    f"--seed-sequence {name}=...: VALUE must be an integer or "
                    f"app_label.Model.field (e.g. billing.Invoice.number), got {value!r}."
                ) from None
            self.check_field(label, model_name, field_name)
            return SeedSequence(name, from_field=value)
        number = parse_int(value, f"--seed-sequence {name}=VALUE", minimum=1)
        return SeedSequence(name, next_value=number)

    def check_field(self, label: str, model_name: str, field_name: str) -> None:
        try:
            model = apps.get_model(label, model_name)
        except LookupError as exc:
            raise CommandError(f"--seed-sequence: {exc}") from None
        try:
            field = model._meta.get_field(field_name)
        except FieldDoesNotExist:
            raise CommandError(
                f"--seed-sequence: {label}.{model_name} has no field {field_name!r}."
            ) from None
        if not isinstance(field, models.IntegerField):
            raise CommandError(
                f"--seed-sequence: {label}.{model_name}.{field_name} is a "
                f"{type(field).__name__}; seeding reads MAX() of an integer field."
            )

    def dependencies(
        self, app_label: str, operations: list[SeedSequence]
    ) -> list[tuple[str, str]]:
        """Latest migrations of ``sequences`` and of the apps the seeds read (not APP).

        ``sequences`` is named by the label it is installed under, so that the
        seed runs after the audit table exists under a relabelled app too.
        """
        try:
            apps.get_app_config(app_label)
        except LookupError as exc:
            raise CommandError(str(exc)) from None
        loader = MigrationLoader(None, ignore_no_migrations=True)
        if not loader.graph.leaf_nodes(app_label):
            raise CommandError(
                f"App {app_label!r} has no migrations; a seed migration goes after the "
                f"app's latest one. Create its first migration (makemigrations "
                f"{app_label}) or put the seed in an app that has migrations."
            )
        try:
            core = sequences_app_label()
        except LookupError as exc:
            raise CommandError(f"--seed-sequence: {exc}") from None
        if not loader.graph.leaf_nodes(core):
            # Never write a seed that could run before the sequences tables exist.
            raise CommandError(
                f"--seed-sequence: no migrations found for the sequences app (label "
                f"{core!r}); a seed migration must run after them."
            )
        labels = [core]
        for operation in operations:
            if operation.from_field is not None:
                labels.append(parse_field_path(operation.from_field)[0])
        dependencies = []
        for label in dict.fromkeys(labels):
            leaves = loader.graph.leaf_nodes(label)
            if label != app_label and leaves:
                dependencies.append(leaves[0])
        return dependencies

    def write_migration_files(
        self, changes: dict[str, list[Migration]], *args: Any, **kwargs: Any
    ) -> None:
        if self.seed_plan is not None:
            operations, dependencies = self.seed_plan
            for migration in (m for app_migrations in changes.values() for m in app_migrations):
                # Migration() copies both class attributes into lists of its own.
                cast(list[Operation], migration.operations).extend(operations)
                cast(list[tuple[str, str]], migration.dependencies).extend(dependencies)
                if not self.migration_name:
                    number = migration.name.split("_", 1)[0]
                    migration.name = f"{number}_{migration.suggest_name()[:100]}"
        super().write_migration_files(changes, *args, **kwargs)
