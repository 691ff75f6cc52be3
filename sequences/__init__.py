"""Gap-less sequences for Django: values that live in the caller's transaction."""

from .api import (
    Sequence,
    delete,
    get_last_value,
    get_next_value,
    get_next_value_many,
    get_next_values,
    reset_sequence,
)
from .exceptions import (
    OutsideTransaction,
    SequenceLocked,
    SequenceOverflow,
    SequenceValueChanged,
)

__all__ = [
    "OutsideTransaction",
    "Sequence",
    "SequenceLocked",
    "SequenceOverflow",
    "SequenceValueChanged",
    "delete",
    "get_last_value",
    "get_next_value",
    "get_next_value_many",
    "get_next_values",
    "reset_sequence",
]
