"""Gap-less sequences for Django: values that live in the caller's transaction."""

from .api import (
    Sequence,
    delete,
    get_last_value,
    get_next_value,
    get_next_values,
    reset_sequence,
)
from .exceptions import SequenceLocked, SequenceOverflow, SequenceValueChanged
from .numbering import NumberSeries, SeriesNumber

__all__ = [
    "NumberSeries",
    "Sequence",
    "SequenceLocked",
    "SequenceOverflow",
    "SequenceValueChanged",
    "SeriesNumber",
    "delete",
    "get_last_value",
    "get_next_value",
    "get_next_values",
    "reset_sequence",
]
