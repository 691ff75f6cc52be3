"""Argument checks shared by every public entry point.

They run before any SQL, so bad input never reaches the database.
"""

from __future__ import annotations

import math
from typing import Any

#: The largest value that every supported backend stores in ``last``
#: (PostgreSQL's and SQLite's signed 64-bit integers).
MAX_VALUE = 2**63 - 1

#: ``Sequence.name`` is a ``CharField(max_length=100)``.
MAX_NAME_LENGTH = 100


def visible_name(name: str) -> str:
    """``name`` as a person can read it: as is, or as a quoted literal when it could not be seen.

    A name that is empty, begins or ends with white space, or holds an
    unprintable character is shown as its Python repr (``'   '``,
    ``'a\\tb'``), as the management commands show it, so that a name made
    of spaces never looks like a missing value.
    """
    if name and name.isprintable() and name.strip() == name:
        return name
    return repr(name)


def check_name(sequence_name: Any) -> str:
    if not isinstance(sequence_name, str):
        raise TypeError(
            f"sequence_name must be a str, got {type(sequence_name).__name__}: {sequence_name!r}"
        )
    if not 1 <= len(sequence_name) <= MAX_NAME_LENGTH:
        raise ValueError(
            f"sequence_name must be 1 to {MAX_NAME_LENGTH} characters long, "
            f"got {len(sequence_name)}"
        )
    if "\x00" in sequence_name:
        # PostgreSQL cannot store NUL in text; refuse it everywhere alike.
        raise ValueError("sequence_name must not contain NUL characters ('\\x00')")
    try:
        sequence_name.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(
            "sequence_name must be valid Unicode: lone surrogates such as '\\ud800' "
            "cannot be stored"
        ) from None
    return sequence_name


def check_int(value: Any, argument: str, *, minimum: int, maximum: int = MAX_VALUE) -> int:
    # bool is an int subclass, but True as a sequence value is a bug.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{argument} must be an int, got {type(value).__name__}: {value!r}")
    if not minimum <= value <= maximum:
        raise ValueError(f"{argument} must be between {minimum} and {maximum}, got {value}")
    return int(value)


def check_arguments(
    sequence_name: Any, initial_value: Any, reset_value: Any, batch_size: Any = 1
) -> None:
    """Validate the arguments of ``get_next_value(s)`` and ``Sequence``."""
    check_name(sequence_name)
    check_int(initial_value, "initial_value", minimum=0)
    check_int(batch_size, "batch_size", minimum=0)
    if reset_value is not None:
        check_int(reset_value, "reset_value", minimum=0)
        if reset_value <= initial_value:
            raise ValueError("reset_value must be greater than initial_value")
        if batch_size > reset_value - initial_value:
            raise ValueError(
                f"batch_size must be at most reset_value - initial_value "
                f"({reset_value - initial_value}), got {batch_size}"
            )
    elif initial_value + batch_size - 1 > MAX_VALUE:
        raise ValueError(
            f"initial_value + batch_size - 1 must be at most {MAX_VALUE}, "
            f"got {initial_value + batch_size - 1}"
        )


def check_timeout(timeout: Any, argument: str = "timeout") -> float:
    """A lock wait limit in seconds: a finite number ``>= 0`` or ``math.inf``."""
    # bool is an int subclass; Decimal and numeric strings are refused like
    # they are for the integer arguments.
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise TypeError(
            f"{argument} must be a number of seconds (int or float), or math.inf for no "
            f"limit, got {type(timeout).__name__}: {timeout!r}"
        )
    if math.isnan(timeout) or timeout < 0:
        raise ValueError(
            f"{argument} must be 0 or more seconds (0: do not wait; math.inf: no limit), "
            f"got {timeout!r}"
        )
    return float(timeout)
