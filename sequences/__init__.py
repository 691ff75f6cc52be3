"""Gap-less sequences for Django: values that live in the caller's transaction."""

# The distribution's version (pyproject.toml reads it from here): django-gapless-sequences.
__version__ = "4.0.0"

from .api import (
    Sequence,
    delete,
    get_last_value,
    get_next_value,
    get_next_value_many,
    get_next_values,
    reset_sequence,
)
from .assign import assign_next_value
from .exceptions import (
    OutsideTransaction,
    SequenceLocked,
    SequenceOverflow,
    SequenceValueChanged,
)
from .numbering import NumberSeries, SeriesNumber

__all__ = [
    "NumberSeries",
    "OutsideTransaction",
    "Sequence",
    "SequenceLocked",
    "SequenceOverflow",
    "SequenceValueChanged",
    "SeriesNumber",
    "assign_next_value",
    "delete",
    "get_last_value",
    "get_next_value",
    "get_next_value_many",
    "get_next_values",
    "reset_sequence",
]
