"""Formatted document numbers: one gap-less sequence per period (and per scope).

A :class:`NumberSeries` turns ``get_next_value`` into ``INV-2026-0042``: it
picks the sequence of the document's period (``billing.invoice.2026``), draws
from it in the caller's transaction, and formats the value. ``parse`` reads a
formatted number back, which is what ``manage.py sequence_check --series`` does.

Models are imported inside functions (through :mod:`sequences.api`), so this
module can be imported before ``django.setup()``.
"""

from __future__ import annotations

import datetime
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, NamedTuple

from .validation import MAX_NAME_LENGTH, check_int, check_name

if TYPE_CHECKING:
    from django.db.models import Model

#: The fields a format may use.
FIELDS = ("value", "year", "month", "day", "period", "scope")

#: A period: a named one, or a callable that maps a date to a period key.
Period = Literal["year", "month", "day"] | Callable[[datetime.date], str] | None

NAMED_PERIODS = ("year", "month", "day")

#: Scopes and the keys of callable periods: letters, digits, ``_`` and ``-``.
#: No ``.`` (the separator of sequence names) and nothing a format's literal
#: text is likely to use as a separator, so that numbers parse back.
_KEY = re.compile(r"[\w-]+")
_KEY_CLASS = r"[\w-]+"
_DIGITS = "0123456789"

# The regular expression of each named period's key, and of its rendering.
_NAMED_PERIOD_PATTERN = {
    "year": r"[0-9]{4}",
    "month": r"[0-9]{4}-[0-9]{2}",
    "day": r"[0-9]{4}-[0-9]{2}-[0-9]{2}",
}

# The format specs allowed for each field, and their regular expressions.
# ``None`` marks a variable-width field (its width depends on the value).
_VALUE_SPEC = re.compile(r"(?:0([1-9][0-9]?))?d?")


class _Field(NamedTuple):
    name: str
    spec: str
    pattern: str
    #: Characters the field can contain; ``None`` for fixed-width fields.
    charset: Callable[[str], bool] | None


class _Literal(NamedTuple):
    text: str


@dataclass(frozen=True)
class SeriesNumber:
    """A number drawn from a :class:`NumberSeries`.

    ``str(number)`` is the formatted number (``"INV-2026-0042"``). ``value``
    is the integer drawn from the sequence named ``sequence_name``;
    ``period`` is the period key (``"2026"``, or what a callable returned;
    ``None`` without a period) and ``scope`` the scope given, if any.
    """

    text: str
    value: int
    sequence_name: str
    period: str | None
    scope: str | None
    date: datetime.date

    def __str__(self) -> str:
        return self.text


def _is_digit(char: str) -> bool:
    return char in _DIGITS


def _is_key_char(char: str) -> bool:
    return _KEY.fullmatch(char) is not None


def _check_key(key: object, what: str) -> str:
    if not isinstance(key, str):
        raise TypeError(f"{what} must be a str, got {type(key).__name__}: {key!r}")
    if not _KEY.fullmatch(key):
        raise ValueError(
            f"{what} must be letters, digits, '_' and '-' (at least one character), got {key!r}"
        )
    return key


def _compile_field(name: str, spec: str, conversion: str | None, fmt: str) -> _Field:
    if name not in FIELDS:
        raise ValueError(
            f"format {fmt!r} uses the field {{{name}}}; the fields allowed are "
            + ", ".join(f"{{{field}}}" for field in FIELDS)
        )
    if conversion:
        raise ValueError(f"format {fmt!r}: conversions such as !{conversion} are not allowed")
    if name == "value":
        match = _VALUE_SPEC.fullmatch(spec)
        if not match:
            raise ValueError(
                f"format {fmt!r}: {{value:{spec}}} is not allowed; use {{value}}, "
                "{value:d} or a zero padding such as {value:04d}"
            )
        width = int(match.group(1) or 1)
        # Exactly ``width`` digits (zero-padded), or more without a leading zero.
        pattern = f"[0-9]{{{width}}}" if width > 1 else "[0-9]"
        pattern = f"(?:{pattern}|[1-9][0-9]{{{width},}})"
        return _Field(name, spec, pattern, _is_digit)
    if name == "year":
        if spec not in ("", "d", "04d", "04"):
            raise ValueError(f"format {fmt!r}: use {{year}} or {{year:04d}}, not {{year:{spec}}}")
        return _Field(name, spec, "[0-9]{4}", None)
    if name in ("month", "day"):
        if spec in ("02d", "02"):
            return _Field(name, spec, "[0-9]{2}", None)
        if spec in ("", "d"):
            return _Field(name, spec, "[1-9][0-9]?", _is_digit)
        raise ValueError(
            f"format {fmt!r}: use {{{name}}} or {{{name}:02d}}, not {{{name}:{spec}}}"
        )
    if spec not in ("", "s"):
        raise ValueError(f"format {fmt!r}: {{{name}}} takes no format spec, got {spec!r}")
    return _Field(name, spec, _KEY_CLASS, _is_key_char)


def _stopped(field: _Field, neighbour: _Field | _Literal | None) -> bool:
    """Whether a variable-width field's edge is found unambiguously from its neighbour.

    The edge is certain at the start or end of the text, or next to literal
    text holding a character the field cannot contain (the field ends just
    before the first such character).
    """
    if neighbour is None:
        return True
    if isinstance(neighbour, _Field):
        return False
    assert field.charset is not None
    return any(not field.charset(char) for char in neighbour.text)


class NumberSeries:
    """Formatted gap-less numbers, one sequence per period and scope.

    ``format`` is a :meth:`str.format` template with the fields ``value``,
    ``year``, ``month``, ``day``, ``period`` and ``scope``. ``period`` is
    ``None`` (one sequence), ``"year"``, ``"month"``, ``"day"``, or a callable
    that maps a date to a period key (letters, digits, ``_`` and ``-``; the
    format must then use ``{period}``). A period's sequence is created at
    ``initial_value`` on its first use. The definition is checked here, so a
    format that could number two documents alike, or could not be parsed
    back, fails when the series is defined rather than at the first invoice.
    """

    def __init__(
        self,
        name: str,
        *,
        format: str,
        period: Period = None,
        initial_value: int = 1,
        using: str | None = None,
    ) -> None:
        check_name(name)
        check_int(initial_value, "initial_value", minimum=0)
        if not isinstance(format, str):
            raise TypeError(f"format must be a str, got {type(format).__name__}: {format!r}")
        if period is not None and not callable(period) and period not in NAMED_PERIODS:
            raise ValueError(
                f"period must be None, 'year', 'month', 'day' or a callable "
                f"(date -> str), got {period!r}"
            )
        self.name = name
        self.format = format
        self.period = period
        self.initial_value = initial_value
        self.using = using
        self._parts = self._compile(format)
        self._fields = {part.name for part in self._parts if isinstance(part, _Field)}
        self._check_periods_distinct()
        self._check_parseable()
        self._regex = self._build_regex()
        longest = len(name) + (
            1 + len("2026-03-31"[: {"year": 4, "month": 7, "day": 10}[period]])
            if isinstance(period, str)
            else 0
        )
        if longest > MAX_NAME_LENGTH:
            raise ValueError(
                f"the sequence names of series {name!r} would be {longest} characters "
                f"long; sequence names hold at most {MAX_NAME_LENGTH}: shorten the name"
            )

    def __repr__(self) -> str:
        return (
            f"NumberSeries({self.name!r}, format={self.format!r}, period={self.period!r}, "
            f"initial_value={self.initial_value!r})"
        )

    # Definition

    @staticmethod
    def _compile(fmt: str) -> list[_Field | _Literal]:
        parts: list[_Field | _Literal] = []
        try:
            parsed = list(string.Formatter().parse(fmt))
        except ValueError as exc:
            raise ValueError(f"format {fmt!r} is not a valid str.format template: {exc}") from None
        for literal, name, spec, conversion in parsed:
            if literal:
                if parts and isinstance(parts[-1], _Literal):
                    parts[-1] = _Literal(parts[-1].text + literal)
                else:
                    parts.append(_Literal(literal))
            if name is None:
                continue
            if name == "" or not name.isidentifier():
                raise ValueError(
                    f"format {fmt!r} uses {{{name}}}: name the fields, among "
                    + ", ".join(f"{{{field}}}" for field in FIELDS)
                )
            if spec and ("{" in spec):
                raise ValueError(f"format {fmt!r}: nested fields in a format spec are not allowed")
            parts.append(_compile_field(name, spec or "", conversion, fmt))
        if not any(isinstance(part, _Field) and part.name == "value" for part in parts):
            raise ValueError(f"format {fmt!r} must contain {{value}}, the sequence's value")
        return parts

    def _check_periods_distinct(self) -> None:
        fields, period = self._fields, self.period
        if period is None:
            if "period" in fields:
                raise ValueError(f"format {self.format!r} uses {{period}}, but period is None")
            return
        if callable(period):
            if "period" not in fields:
                raise ValueError(
                    f"format {self.format!r} must contain {{period}}: with a callable period, "
                    "it is what tells the periods' numbers apart"
                )
            return
        needed = {"year": ["year"], "month": ["year", "month"], "day": ["year", "month", "day"]}
        lacking = [field for field in needed[period] if field not in fields]
        if "period" not in fields and lacking:
            raise ValueError(
                f"format {self.format!r} would number two {period}s alike: with "
                f"period={period!r} it needs {{period}}, or "
                + " and ".join(f"{{{field}}}" for field in needed[period])
                + f" (it lacks {', '.join(f'{{{field}}}' for field in lacking)})"
            )

    def _check_parseable(self) -> None:
        parts = self._parts
        variable = [
            i for i, part in enumerate(parts) if isinstance(part, _Field) and self._variable(part)
        ]

        def neighbour(index: int) -> _Field | _Literal | None:
            return parts[index] if 0 <= index < len(parts) else None

        left = [i for i in variable if not self._stop(parts[i], neighbour(i + 1))]
        right = [i for i in variable if not self._stop(parts[i], neighbour(i - 1))]
        # Reading from the left settles every field up to the first one whose
        # end is uncertain; reading from the right, every field down to the
        # last one whose start is uncertain. Only one field may be left over.
        if left and right and left[0] < right[-1]:
            first, second = parts[left[0]], parts[right[-1]]
            assert isinstance(first, _Field) and isinstance(second, _Field)
            raise ValueError(
                f"format {self.format!r} cannot be read back unambiguously: "
                f"{{{first.name}}} and {{{second.name}}} vary in width and the text between "
                "them holds no character that either cannot contain; put a separator such "
                "as '/' between them, or use fixed widths ({year}, {month:02d}, {day:02d})"
            )

    def _variable(self, field: _Field) -> bool:
        if field.name == "period" and isinstance(self.period, str):
            return False
        return field.charset is not None

    def _stop(self, part: _Field | _Literal, neighbour: _Field | _Literal | None) -> bool:
        assert isinstance(part, _Field)
        if isinstance(neighbour, _Field) and not self._variable(neighbour):
            # A fixed-width neighbour is only a separator if the field cannot
            # contain its characters; keep it simple and call it ambiguous.
            return False
        return _stopped(part, neighbour)

    def _build_regex(self) -> re.Pattern[str]:
        pieces = []
        for index, part in enumerate(self._parts):
            if isinstance(part, _Literal):
                pieces.append(re.escape(part.text))
            else:
                pattern = part.pattern
                if part.name == "period" and isinstance(self.period, str):
                    pattern = _NAMED_PERIOD_PATTERN[self.period]
                pieces.append(f"(?P<f{index}>{pattern})")
        return re.compile("".join(pieces))

    # Calls

    def _check_call(self, date: object, scope: object) -> tuple[datetime.date, str | None]:
        if date is None:
            date = _today()
        if isinstance(date, datetime.datetime) or not isinstance(date, datetime.date):
            hint = (
                " (a datetime's date depends on the time zone: pass "
                "timezone.localdate(value) or value.date())"
                if isinstance(date, datetime.datetime)
                else ""
            )
            raise TypeError(
                f"date must be a datetime.date or None, got {type(date).__name__}: {date!r}{hint}"
            )
        if date.year < 1000 and ({"year", "period"} & self._fields or self.period is not None):
            raise ValueError(f"date must be in the years 1000 to 9999, got {date.isoformat()}")
        if "scope" in self._fields:
            if scope is None:
                raise ValueError(
                    f"series {self.name!r} numbers each scope apart (its format has "
                    "{scope}): pass scope="
                )
            _check_key(scope, "scope")
        elif scope is not None:
            raise ValueError(
                f"series {self.name!r} has no scopes: its format {self.format!r} has no "
                f"{{scope}}, got scope={scope!r}"
            )
        return date, scope  # type: ignore[return-value]

    def period_key(self, date: datetime.date) -> str | None:
        """``date``'s period key: ``"2026"``, ``"2026-03"``, ``"2026-03-31"`` or the callable's."""
        period = self.period
        if period is None:
            return None
        if period == "year":
            return f"{date.year:04d}"
        if period == "month":
            return f"{date.year:04d}-{date.month:02d}"
        if period == "day":
            return date.isoformat()
        assert callable(period)
        return _check_key(period(date), f"the key that period {period!r} returned")

    def _name(self, key: str | None, scope: str | None) -> str:
        name = self.name
        if key is not None:
            name = f"{name}.{key}"
        if scope is not None:
            name = f"{name}.{scope}"
        if len(name) > MAX_NAME_LENGTH:
            raise ValueError(
                f"the sequence name {name[:40]!r}... would be {len(name)} characters long; "
                f"sequence names hold at most {MAX_NAME_LENGTH}: shorten the series name "
                "or the scope"
            )
        return name

    def sequence_name(self, date: datetime.date | None = None, scope: str | None = None) -> str:
        """The name of the sequence that numbers ``date``'s period in ``scope``.

        ``NAME``, then ``.PERIOD`` with a period, then ``.SCOPE`` with a
        scope: ``billing.invoice.2026``, ``invoices.2026-03.paris``. Stable:
        it is what the database stores. Period keys and scopes hold no ``.``,
        so a name belongs to exactly one (period, scope) of the series.
        """
        date, scope = self._check_call(date, scope)
        return self._name(self.period_key(date), scope)

    def render(
        self, value: int, date: datetime.date | None = None, scope: str | None = None
    ) -> str:
        """Format ``value`` as the number of ``date``'s period in ``scope``, drawing nothing."""
        check_int(value, "value", minimum=0)
        date, scope = self._check_call(date, scope)
        return self._render(value, date, self.period_key(date), scope)

    def _render(self, value: int, date: datetime.date, key: str | None, scope: str | None) -> str:
        return self.format.format(
            value=value,
            year=date.year,
            month=date.month,
            day=date.day,
            period=key if key is not None else "",
            scope=scope if scope is not None else "",
        )

    def next(
        self,
        date: datetime.date | None = None,
        scope: str | None = None,
        *,
        nowait: bool = False,
        timeout: float | None = None,
        using: str | None = None,
    ) -> SeriesNumber:
        """Draw the next number of ``date``'s period (default: today) in ``scope``.

        It calls :func:`~sequences.get_next_value`, so every guarantee holds:
        the value belongs to the current transaction (a rollback gives it
        back), ``nowait=True`` raises :class:`~sequences.SequenceLocked`
        instead of waiting and ``timeout`` after waiting that many seconds
        (default ``SEQUENCES_LOCK_TIMEOUT``), strict mode applies, and
        ``using`` (default: the series' own, then the router's) picks the
        database. Arguments are checked before any SQL.
        """
        from .api import get_next_value

        date, scope = self._check_call(date, scope)
        key = self.period_key(date)
        name = self._name(key, scope)
        value = get_next_value(
            name,
            self.initial_value,
            nowait=nowait,
            timeout=timeout,
            using=using if using is not None else self.using,
        )
        return SeriesNumber(
            text=self._render(value, date, key, scope),
            value=value,
            sequence_name=name,
            period=key,
            scope=scope,
            date=date,
        )

    def assign(
        self,
        instance: Model,
        field_name: str,
        *,
        date: datetime.date | None = None,
        scope: str | None = None,
        nowait: bool = False,
        timeout: float | None = None,
        using: str | None = None,
    ) -> SeriesNumber:
        """Draw the next number and store its text in ``field_name`` of a saved row, last.

        :meth:`next` and :func:`~sequences.assign_next_value` in one: call it
        as the last statement of the ``atomic()`` block that saved the row, so
        the period's sequence is locked only until the commit. It writes
        ``str(number)`` with one single-row ``UPDATE`` (the field must be a
        nullable, empty ``CharField`` or ``TextField``, or a subclass of
        either) and sets it on ``instance``. Every argument, the
        row and the database are checked before any SQL, as by both.
        """
        from .assign import assign

        checked: list[tuple[datetime.date, str | None, str]] = []

        def check() -> None:
            day, checked_scope = self._check_call(date, scope)
            checked.append((day, checked_scope, self._name(self.period_key(day), checked_scope)))

        def draw(alias: str) -> SeriesNumber:
            day, checked_scope, _ = checked[0]
            return self.next(day, checked_scope, nowait=nowait, timeout=timeout, using=alias)

        return assign(
            instance,
            field_name,
            draw,
            str,
            using=using if using is not None else self.using,
            before_sql=check,
            text=True,
        )

    def parse(self, text: str) -> tuple[str, int]:
        """Read a formatted number back: ``(sequence_name, value)``.

        Raises :class:`ValueError` if the format cannot have produced
        ``text`` (wrong shape, padding, impossible date).
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}: {text!r}")
        match = self._regex.fullmatch(text)
        if match is None:
            raise ValueError(f"{text!r} does not match the format {self.format!r}")
        found: dict[str, str | int] = {}
        for index, part in enumerate(self._parts):
            if not isinstance(part, _Field):
                continue
            raw = match.group(f"f{index}")
            item: str | int = raw if part.name in ("period", "scope") else int(raw)
            if found.setdefault(part.name, item) != item:
                raise ValueError(f"{text!r} gives {{{part.name}}} two different values")
        value = found["value"]
        assert isinstance(value, int)
        key = self._parsed_key(text, found)
        scope = found.get("scope")
        assert scope is None or isinstance(scope, str)
        name = self._name(key, scope)
        # What the format renders for these fields must be the text itself:
        # this rejects a padding or a date the format cannot produce.
        date = self._parsed_date(text, found, key)
        if self._render(value, date, key, scope) != text:
            raise ValueError(f"the format {self.format!r} cannot produce {text!r}")
        return name, value

    def _parsed_key(self, text: str, found: dict[str, str | int]) -> str | None:
        period = self.period
        if period is None:
            return None
        if "period" in found:
            return str(found["period"])
        year, month, day = found.get("year"), found.get("month"), found.get("day")
        if period == "year":
            return f"{year:04d}"
        if period == "month":
            return f"{year:04d}-{month:02d}"
        return f"{year:04d}-{month:02d}-{day:02d}"

    def _parsed_date(
        self, text: str, found: dict[str, str | int], key: str | None
    ) -> datetime.date:
        """A date that renders the date fields found (those absent default to 1)."""
        parts = {"year": 2000, "month": 1, "day": 1}
        if isinstance(self.period, str) and key is not None:
            for name, item in zip(("year", "month", "day"), key.split("-"), strict=False):
                parts[name] = int(item)
        key_fields = _key_fields(self.period) if isinstance(self.period, str) else ()
        for name in parts:
            found_item = found.get(name)
            if not isinstance(found_item, int):
                continue
            if name in key_fields and key is not None and parts[name] != found_item:
                raise ValueError(
                    f"{text!r}: {{{name}}} and {{period}} disagree ({found_item} and {key})"
                )
            parts[name] = found_item
        if "day" in found and "month" not in found and "period" not in found:
            # {day} without a month: any day from 1 to 31 exists in January.
            parts["month"] = 1
        try:
            return datetime.date(parts["year"], parts["month"], parts["day"])
        except ValueError:
            raise ValueError(f"{text!r} holds no real date") from None

    # Sequence names, read back (for sequence_check)

    def split_sequence_name(self, sequence_name: str) -> tuple[str | None, str | None] | None:
        """``(period key, scope)`` of one of this series' sequences, or ``None``.

        ``None`` when the name cannot belong to this series.
        """
        name = self.name
        has_scope = "scope" in self._fields
        if self.period is None and not has_scope:
            return (None, None) if sequence_name == name else None
        if not sequence_name.startswith(name + "."):
            return None
        rest = sequence_name[len(name) + 1 :]
        key: str | None = None
        if self.period is not None:
            key, dot, rest = rest.partition(".")
            pattern = (
                _NAMED_PERIOD_PATTERN[self.period] if isinstance(self.period, str) else _KEY_CLASS
            )
            if not re.fullmatch(pattern, key) or bool(dot) != has_scope:
                return None
            if not has_scope:
                return key, None
        return (key, rest) if _KEY.fullmatch(rest) else None


def _key_fields(period: str) -> tuple[str, ...]:
    return {"year": ("year",), "month": ("year", "month"), "day": ("year", "month", "day")}[period]


def _today() -> datetime.date:
    from django.conf import settings
    from django.utils import timezone

    return timezone.localdate() if settings.USE_TZ else datetime.date.today()
