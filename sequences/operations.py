"""Migration operations: ``SeedSequence`` seeds a sequence from a data migration.

``manage.py makemigrations APP --seed-sequence NAME=VALUE`` writes migrations
that use it; it can also be written by hand::

    from django.db import migrations

    from sequences.operations import SeedSequence


    class Migration(migrations.Migration):
        dependencies = [
            ("billing", "0007_invoice"),
            ("sequences", "0005_sequencechange_collation_action"),
        ]
        operations = [
            SeedSequence("customers", next_value=1000),
            SeedSequence("invoices", from_field="billing.Invoice.number"),
        ]

The dependency names the label the project installed ``sequences`` under
(``"sequences"`` unless it is relabelled); the scaffold writes it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.db import transaction
from django.db.migrations.operations.base import Operation, OperationCategory
from django.db.models import Max, Model

from .changes import change_sequence, locked_last
from .validation import check_int, check_name

if TYPE_CHECKING:
    from django.db.backends.base.schema import BaseDatabaseSchemaEditor
    from django.db.migrations.state import ProjectState


def sequences_app_label() -> str:
    """The label ``sequences`` is installed under: ``"sequences"`` unless relabelled.

    Found in the app registry (the config that contains this module), as the
    app's own migrations find it, so that a subclass of ``SequencesConfig``
    with another ``label`` needs nothing else.
    """
    config = apps.get_containing_app_config(__name__)
    if config is None:
        raise LookupError(
            "The sequences app is not installed: add 'sequences' (or a subclass of "
            "sequences.apps.SequencesConfig) to INSTALLED_APPS."
        )
    return config.label


def parse_field_path(from_field: Any) -> tuple[str, str, str]:
    """Split ``"app_label.ModelName.field"``; raise ``ValueError`` if it is not one."""
    parts = from_field.split(".") if isinstance(from_field, str) else []
    if len(parts) != 3 or not all(part.isidentifier() for part in parts):
        raise ValueError(
            "from_field must be 'app_label.ModelName.field_name' "
            f"(e.g. 'billing.Invoice.number'), got {from_field!r}"
        )
    return parts[0], parts[1], parts[2]


class SeedSequence(Operation):
    """Make a sequence's next value at least ``next_value`` (or ``MAX(field) + 1``).

    A seed never moves a sequence back: if the sequence is already there or
    further ahead, nothing happens, so applying it again is safe. It goes
    through the same locked, compare-and-set, audited write as
    :func:`sequences.reset_sequence` (``action="seed"``, ``source="migration"``),
    on the database the migration runs on, when the router allows migrating
    ``sequences`` there. It reads and writes only the historical models of its
    migration state, never today's models, and finds the app's label in the
    app registry, so it works under a relabelled app.

    With ``from_field="app_label.ModelName.field"`` the value is computed when
    the migration runs, from the historical model: ``MAX(field) + 1``. A table
    without rows (or whose maximum is below 0) seeds nothing.

    Unapplying it leaves the sequence as it is: values handed out since the
    seed may be in use, and moving the sequence back would hand them out again.
    """

    reversible = True
    reduces_to_sql = False
    category = OperationCategory.PYTHON

    def __init__(
        self, sequence_name: str, next_value: int | None = None, from_field: str | None = None
    ) -> None:
        check_name(sequence_name)
        if (next_value is None) == (from_field is None):
            raise TypeError("SeedSequence needs exactly one of next_value and from_field")
        if next_value is not None:
            check_int(next_value, "next_value", minimum=1)
        if from_field is not None:
            parse_field_path(from_field)
        self.sequence_name = sequence_name
        self.next_value = next_value
        self.from_field = from_field

    def state_forwards(self, app_label: str, state: ProjectState) -> None:
        pass  # data only: the models do not change

    def database_forwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        alias = schema_editor.connection.alias
        # Historical models only: today's models may have columns that this
        # point of the migration history has not created yet (or the reverse).
        label = sequences_app_label()
        try:
            sequence_model = from_state.apps.get_model(label, "Sequence")
            change_model = from_state.apps.get_model(label, "SequenceChange")
        except LookupError:
            raise LookupError(
                f"SeedSequence({self.sequence_name!r}): the migration state has no "
                f"{label}.SequenceChange; the migration must depend on "
                f"('{label}', '0003_sequencechange') or a later migration of {label}."
            ) from None
        if not self.allow_migrate_model(alias, sequence_model):
            return
        next_value = self.next_value
        if next_value is None:
            next_value = self._value_from_field(from_state, alias)
            if next_value is None:
                return
        seed(
            sequence_model,
            change_model,
            self.sequence_name,
            next_value,
            using=alias,
            reason=f"{self.describe()} ({app_label})",
        )

    def database_backwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        pass  # left as is: see the class docstring

    def _value_from_field(self, state: ProjectState, alias: str) -> int | None:
        assert self.from_field is not None
        label, model_name, field_name = parse_field_path(self.from_field)
        try:
            model = state.apps.get_model(label, model_name)
        except LookupError:
            raise LookupError(
                f"SeedSequence({self.sequence_name!r}): no model {label}.{model_name} in the "
                "migration state; the migration must depend on that app's migrations."
            ) from None
        top = model._base_manager.using(alias).aggregate(top=Max(field_name))["top"]
        if top is None or top < 0:
            return None
        return int(top) + 1

    def describe(self) -> str:
        if self.next_value is not None:
            return f"Seed sequence {self.sequence_name!r} at {self.next_value}"
        return f"Seed sequence {self.sequence_name!r} from MAX({self.from_field}) + 1"

    @property
    def migration_name_fragment(self) -> str:
        slug = re.sub(r"[^0-9a-zA-Z]+", "_", self.sequence_name).strip("_").lower()
        return f"seed_sequence_{slug}" if slug else "seed_sequence"


def seed(
    sequence_model: type[Model],
    change_model: type[Model],
    sequence_name: str,
    next_value: int,
    *,
    using: str,
    reason: str,
) -> bool:
    """Move ``sequence_name`` forward to ``next_value`` (never back); return whether it moved.

    Takes the models to write through (a migration's historical ones), and
    locks and audits exactly as :func:`sequences.reset_sequence` does.
    """
    with transaction.atomic(using=using):
        last = locked_last(sequence_model, sequence_name, using=using)
        if last is not None and last >= next_value - 1:
            return False
        change_sequence(
            sequence_model,
            change_model,
            sequence_name,
            next_value - 1,
            expected_last=last,
            allow_reuse=False,
            using=using,
            record={"action": "seed", "source": "migration", "reason": reason, "username": ""},
        )
    return True
