"""Draw last: number an already saved row as the final statements of its transaction.

A sequence's row stays locked from the draw until the transaction ends, so a
transaction that draws first and then works for 20 ms caps the sequence at 50
documents a second. :func:`assign_next_value` lets the caller save the row
(with an empty, nullable number column) and do all its other work first, then
draws and writes the number with one single-row ``UPDATE``: the lock is held
for two statements and the ``COMMIT``.

Models are imported inside functions, so this module can be imported before
``django.setup()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.db import connections, router, transaction

from .exceptions import OutsideTransaction
from .validation import check_arguments

if TYPE_CHECKING:
    from django.db.models import Field, Model

T = TypeVar("T")


def assign_next_value(
    instance: Model,
    field_name: str,
    sequence_name: str = "default",
    initial_value: int = 1,
    reset_value: int | None = None,
    *,
    nowait: bool = False,
    timeout: float | None = None,
    using: str | None = None,
) -> int:
    """Draw the next value of a sequence and store it in ``field_name`` of a saved row.

    Call it as the last statement of the ``transaction.atomic()`` block that
    saved the row: it draws (:func:`~sequences.get_next_value`, same
    arguments) and writes the value with one single-row ``UPDATE ... WHERE
    pk = %s AND field IS NULL``, then sets it on ``instance``. The sequence is
    locked only from the draw to the commit. Everything is checked before any
    SQL: a saved instance, a concrete nullable field that holds no number
    yet, the sequence on the instance's database, inside ``atomic()``. If the
    row is gone or was numbered meanwhile, it raises and marks the
    transaction for rollback, which gives the value back.
    """
    check_arguments(sequence_name, initial_value, reset_value)
    from .api import get_next_value

    def draw(alias: str) -> int:
        return get_next_value(
            sequence_name,
            initial_value,
            reset_value,
            nowait=nowait,
            timeout=timeout,
            using=alias,
        )

    return assign(instance, field_name, draw, int, using=using)


def assign(
    instance: Model,
    field_name: str,
    draw: Callable[[str], T],
    stored: Callable[[T], Any],
    *,
    using: str | None,
    before_sql: Callable[[], None] | None = None,
    text: bool = False,
) -> T:
    """Check, then ``draw(alias)`` and write ``stored(drawn)``: the core of both helpers.

    ``before_sql`` runs the caller's own checks after these, before any SQL.
    ``text``: the value written is a str, so the field must be a ``CharField``
    or ``TextField`` (or a subclass of either).
    """
    field = _number_field(instance, field_name)
    if text:
        _check_text_field(instance, field)
    alias = _database(instance, using)
    if before_sql is not None:
        before_sql()
    drawn = draw(alias)
    value = stored(drawn)
    max_length = getattr(field, "max_length", None)
    if isinstance(value, str) and max_length is not None and len(value) > max_length:
        transaction.set_rollback(True, using=alias)
        raise ValueError(
            f"{_label(instance)}.{field.name} holds at most {max_length} characters, but "
            f"the number drawn is {value!r} ({len(value)}); nothing was written and the "
            "transaction is marked for rollback, which gives the number back"
        )
    model = type(instance)
    rows = model._base_manager.using(alias).filter(
        pk=instance.pk, **{f"{field.attname}__isnull": True}
    )
    try:
        updated = rows.update(**{field.attname: value})
    except BaseException:
        # A caller that catches the error inside its atomic block must not
        # commit the draw without the row that holds it.
        transaction.set_rollback(True, using=alias)
        raise
    if updated != 1:
        exists = model._base_manager.using(alias).filter(pk=instance.pk).exists()
        transaction.set_rollback(True, using=alias)
        if exists:
            raise ValueError(
                f"{_label(instance)} pk={instance.pk!r} on database {alias!r} already has a "
                f"{field.name} (another transaction numbered it); nothing was written and "
                "the transaction is marked for rollback, which gives the number back"
            )
        does_not_exist: type[Exception] = getattr(model, "DoesNotExist", ObjectDoesNotExist)
        raise does_not_exist(
            f"{_label(instance)} pk={instance.pk!r} does not exist on database {alias!r} "
            "(deleted, or never saved there); nothing was written and the transaction is "
            "marked for rollback, which gives the number back"
        )
    setattr(instance, field.attname, value)
    return drawn


def _label(instance: Model) -> str:
    return str(instance._meta.label)


def _number_field(instance: object, field_name: object) -> Field[Any, Any]:
    from django.db.models import Field, Model

    if not isinstance(instance, Model):
        raise TypeError(
            f"instance must be a saved model instance, got {type(instance).__name__}: {instance!r}"
        )
    if not isinstance(field_name, str):
        raise TypeError(f"field_name must be a str, got {type(field_name).__name__}")
    meta = instance._meta
    label = meta.label
    try:
        field = meta.get_field(field_name)
    except FieldDoesNotExist:
        fields = [
            f.name
            for f in meta.concrete_fields
            if f.null and not f.primary_key and not f.is_relation
        ]
        raise ValueError(
            f"{label} has no field {field_name!r}; its nullable number fields are: "
            f"{', '.join(fields) or '(none)'}"
        ) from None
    if (
        not isinstance(field, Field)
        or not field.concrete
        or field.is_relation
        or field.primary_key
    ):
        raise ValueError(
            f"{label}.{field_name} cannot hold a number: it must be a concrete column of "
            "the model's own (not a relation, a reverse relation or the primary key)"
        )
    if not field.null:
        raise ValueError(
            f"{label}.{field_name} must be nullable (null=True): the row is saved without "
            "its number first, and the number is written last"
        )
    if instance.pk is None:
        raise ValueError(
            f"{label} instance is not saved (its pk is None): save it first, in the same "
            "transaction.atomic() block, then assign its number as the last statement"
        )
    if instance._state.adding:
        # A pk set before the first save (a UUID default, an explicit pk) is
        # not a row: the UPDATE would match nothing, after the draw.
        raise ValueError(
            f"{label} instance pk={instance.pk!r} is not saved (it was built, never saved "
            "or loaded): save it first, in the same transaction.atomic() block, then "
            "assign its number as the last statement"
        )
    current = getattr(instance, field.attname)
    if current is not None:
        raise ValueError(
            f"{label} pk={instance.pk!r} already has {field_name}={current!r}: a number "
            "is assigned once (overwriting it would leave a gap in the sequence)"
        )
    return field


def _check_text_field(instance: Model, field: Field[Any, Any]) -> None:
    from django.db.models import CharField, TextField

    if not isinstance(field, (CharField, TextField)):
        raise TypeError(
            f"{_label(instance)}.{field.name} is a {type(field).__name__}, which cannot hold "
            "a formatted number: NumberSeries.assign writes text, so the field must be a "
            "CharField or a TextField (or a subclass of either); for a plain integer use "
            "assign_next_value()"
        )


def _database(instance: Model, using: str | None) -> str:
    """The one database of the instance and the sequence; refuses two, or autocommit."""
    from .models import Sequence

    row_alias = instance._state.db or router.db_for_write(type(instance), instance=instance)
    alias = using if using is not None else router.db_for_write(Sequence)
    if not isinstance(alias, str) or alias not in connections:
        raise ValueError(f"using must name a database in DATABASES, got {alias!r}")
    if alias != row_alias:
        given = f"using={using!r}" if using is not None else f"the router's {alias!r}"
        raise ValueError(
            f"{_label(instance)} pk={instance.pk!r} is on database {row_alias!r} but the "
            f"sequence would be on {given}: the draw and the UPDATE must share one "
            f"transaction; pass using={row_alias!r} if that database holds the sequence"
        )
    if not connections[alias].in_atomic_block:
        raise OutsideTransaction(
            alias,
            reason=(
                f"A number was assigned to {_label(instance)} pk={instance.pk!r} on database "
                f"{alias!r} outside transaction.atomic(): in autocommit the number would "
                "be committed before the row gets it, and lost if the UPDATE failed."
            ),
        )
    return alias
