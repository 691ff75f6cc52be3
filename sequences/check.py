"""Compare the numbers stored in a document table with the sequences that issued them.

:func:`check_sequence` checks an integer field against one sequence, on the
server (one statement for a clean table); :func:`check_series` parses the
formatted numbers of a :class:`~sequences.NumberSeries`, streaming the table
in chunks sorted so that each sequence's numbers come in numeric order. Both
read the documents and the sequences in one snapshot (:func:`snapshot`) and
return a :class:`CheckReport`; ``manage.py
sequence_check`` prints it. Nothing here writes.
"""

from __future__ import annotations

import bisect
import contextlib
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.exceptions import FieldDoesNotExist
from django.db import connections, models, router, transaction
from django.db.models.functions import Collate, Length

if TYPE_CHECKING:
    from .models import SequenceChange
    from .numbering import NumberSeries

#: Version of :meth:`CheckReport.as_json`'s layout (documented in docs/numbering.md).
SCHEMA_VERSION = 1

# Each vendor's way to read several statements from one snapshot, issued as
# the first statement of the transaction that ``snapshot()`` opens. Both are
# scoped to that one transaction, so no session setting outlives it.
POSTGRESQL_SNAPSHOT = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
# MySQL/MariaDB only accept this before the transaction starts (it then
# applies to the next transaction alone, Django's default being read committed)...
MYSQL_SNAPSHOT = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"
# ... and this starts that transaction at once, so that the setting above is
# used up here whatever happens next, and takes the snapshot now.
MYSQL_BEGIN = "START TRANSACTION READ ONLY, WITH CONSISTENT SNAPSHOT"

# The one statement that a clean table costs: totals over the documents
# (``{documents}``: the filtered documents, their number as ``n``), and how
# many distinct numbers they hold; fewer distinct numbers than numbered
# documents means some number is held twice. ``%(start)s`` is the lowest
# possible number when the start is the lowest number found. COUNT(CASE ...)
# rather than SUM(CASE ... 1 ELSE 0): MariaDB sums in DECIMAL, twice as slow.
# When a constraint makes the numbers unique, the distinct count is COUNT(n).
SUMMARY_UNIQUE_SQL = """
SELECT COUNT(*),
       COUNT(*) - COUNT(n),
       COUNT(CASE WHEN n >= %(start)s AND n <= %(last)s THEN 1 END),
       COUNT(CASE WHEN n > %(last)s THEN 1 END),
       COUNT(CASE WHEN n < %(start)s THEN 1 END),
       COUNT(n),
       MIN(n),
       MAX(n)
FROM ({documents}) documents
"""
# Otherwise the distinct numbers are counted, the cheapest of the ways tried
# to find duplicates. Times of a clean scan of 1,000,000 indexed numbers,
# relative to the one chosen (measured while other work ran; MariaDB and
# SQLite with a filter, as they scan only then):
# - PostgreSQL: COUNT(DISTINCT n) in the scan 1.0, a DISTINCT subquery beside
#   the scan 1.3, GROUP BY n 1.5, LAG(n) OVER (ORDER BY n) 2.1;
# - MariaDB: COUNT(DISTINCT n) 1.0, the DISTINCT subquery 3.1, GROUP BY n 3.6
#   (LAG: 6x the DISTINCT subquery without a filter);
# - SQLite: the DISTINCT subquery 1.0, GROUP BY n 1.0, COUNT(DISTINCT n) 1.4
#   (LAG: 5x the DISTINCT subquery without a filter).
# A window function would find gaps and duplicates in the same ordered pass,
# but each backend computes it slower than a sort or a hash of the numbers.
SUMMARY_COUNT_DISTINCT_SQL = """
SELECT COUNT(*),
       COUNT(*) - COUNT(n),
       COUNT(CASE WHEN n >= %(start)s AND n <= %(last)s THEN 1 END),
       COUNT(CASE WHEN n > %(last)s THEN 1 END),
       COUNT(CASE WHEN n < %(start)s THEN 1 END),
       COUNT(DISTINCT n),
       MIN(n),
       MAX(n)
FROM ({documents}) documents
"""
SUMMARY_DISTINCT_BESIDE_SQL = """
SELECT totals.*, numbers.distinct_numbers FROM (
    SELECT COUNT(*) AS total,
           COUNT(*) - COUNT(n) AS null_numbers,
           COUNT(CASE WHEN n >= %(start)s AND n <= %(last)s THEN 1 END) AS in_range,
           COUNT(CASE WHEN n > %(last)s THEN 1 END) AS ahead,
           COUNT(CASE WHEN n < %(start)s THEN 1 END) AS below,
           MIN(n) AS lowest,
           MAX(n) AS highest
    FROM ({documents}) documents
) totals, (
    SELECT COUNT(n) AS distinct_numbers FROM (SELECT DISTINCT n FROM ({documents}) documents) held
) numbers
"""
# The same totals when the number column leads an index and no filter applies:
# one subquery per total, each an index lookup or a short range (and the
# count of all rows, the database's cheapest read), plus the distinct numbers
# read along the index. A table scan with counters costs more than all of these together
# (SQLite: 2x; its COUNT(*) counts b-tree cells without reading a row). With
# a filter, each of these would scan the table: the forms above are used.
# ``{distinct}``: the distinct numbers' count (INDEXED_DISTINCT_SQL, or on
# MySQL/MariaDB INDEXED_COUNT_DISTINCT_SQL), or NULL when a constraint makes
# the numbers unique.
SUMMARY_INDEXED_SQL = """
SELECT (SELECT COUNT(*) FROM ({documents}) documents),
       (SELECT COUNT(*) FROM ({documents}) documents WHERE n IS NULL),
       (SELECT COUNT(*) FROM ({documents}) documents WHERE n > %(last)s),
       (SELECT COUNT(*) FROM ({documents}) documents WHERE n < %(start)s),
       {distinct},
       (SELECT MIN(n) FROM ({documents}) documents),
       (SELECT MAX(n) FROM ({documents}) documents)
"""
INDEXED_DISTINCT_SQL = (
    "(SELECT COUNT(n) FROM (SELECT DISTINCT n FROM ({documents}) documents) held)"
)
# MariaDB skips along the index for COUNT(DISTINCT n) ("Using index for
# group-by"), where the DISTINCT subquery above is written to a temporary
# table: alone, 1.3x against 1.8x its COUNT(*) for a million numbers; the
# whole check 1.8x to 3.0x (make bench-check).
INDEXED_COUNT_DISTINCT_SQL = "(SELECT COUNT(DISTINCT n) FROM ({documents}) documents)"
# PostgreSQL, numbers that lead an index but are not unique. Its COUNT(*)
# scans the table with parallel workers, and one COUNT(DISTINCT n) sorts a
# million numbers in one process, past the default work_mem: 4.8x COUNT(*).
# So the totals that are index lookups come first (with the lowest and the
# highest number), then RANGE_SQL counts the numbers and the distinct numbers
# in ranges of about RANGE_NUMBERS between the lowest and the highest: the
# ranges partition the numbers, so their counts add up; parallel workers take
# them at once (Parallel Append), and each range's sort fits in the default
# work_mem when the numbers are about contiguous (the ranges split values, not
# rows). 1.7x to 2.7x COUNT(*) for a million numbers (make bench-check).
SUMMARY_BOUNDS_SQL = """
SELECT (SELECT COUNT(*) FROM ({documents}) documents WHERE n IS NULL),
       (SELECT COUNT(*) FROM ({documents}) documents WHERE n > %(last)s),
       (SELECT COUNT(*) FROM ({documents}) documents WHERE n < %(start)s),
       (SELECT MIN(n) FROM ({documents}) documents),
       (SELECT MAX(n) FROM ({documents}) documents)
"""
RANGE_SQL = (
    "SELECT COUNT(n) AS numbers, COUNT(DISTINCT n) AS distinct_numbers "
    "FROM ({documents}) documents"
)
#: Numbers per range of RANGE_SQL: 100,000 eight-byte numbers sort within
#: PostgreSQL's default work_mem (4 MB).
RANGE_NUMBERS = 100_000
#: Past this many ranges (10,000,000 numbers) the ranges grow instead.
MAX_RANGES = 64
# Only when some number is held twice: the same totals over the documents
# grouped by number (``c``: how many hold it), which counts the duplicated
# numbers and the distinct numbers from the start to ``last``.
SUMMARY_GROUPED_SQL = """
SELECT SUM(c),
       SUM(CASE WHEN n IS NULL THEN c ELSE 0 END),
       COUNT(CASE WHEN n >= %(start)s AND n <= %(last)s THEN 1 END),
       SUM(CASE WHEN n > %(last)s THEN c ELSE 0 END),
       SUM(CASE WHEN n < %(start)s THEN c ELSE 0 END),
       COUNT(CASE WHEN c > 1 AND n >= %(start)s THEN 1 END),
       MIN(n),
       MAX(n)
FROM ({documents}) documents
"""

# Only when numbers are missing: the first gaps, found by giving each distinct
# number its predecessor (LAG) over the ordered numbers. ``q + 1 < n`` rather
# than ``n - q > 1``: MySQL raises on an unsigned subtraction below zero.
GAPS_SQL = """
SELECT q, n FROM (
    SELECT n, COALESCE(LAG(n) OVER (ORDER BY n), %(before_start)s) AS q
    FROM ({distinct}) numbers
) ordered
WHERE q + 1 < n AND q < %(last)s AND n > %(start)s
ORDER BY n
LIMIT %(wanted)s
"""

#: Rows read per statement when ``check_series`` streams a table.
CHUNK_SIZE = 5000


@dataclass
class Explanation:
    """Missing values that an audited reset or seed skipped on purpose."""

    change: SequenceChange
    first: int
    last: int
    #: How many values of ``first..last`` no document holds.
    missing: int = 0


@dataclass
class SequenceReport:
    """What the documents of one sequence show; see :class:`CheckReport`."""

    name: str
    #: The sequence's last value, ``None`` if it does not exist.
    last: int | None
    start: int
    documents: int = 0
    missing_count: int = 0
    missing_ranges: list[tuple[int, int]] = field(default_factory=list)
    missing_truncated: bool = False
    duplicate_count: int = 0
    #: ``(value, documents holding it)``.
    duplicates: list[tuple[int, int]] = field(default_factory=list)
    duplicate_truncated: bool = False
    #: Documents numbered above ``last``.
    ahead_count: int = 0
    ahead_values: list[int] = field(default_factory=list)
    ahead_truncated: bool = False
    #: The highest number found (for ``--fix-forward``).
    highest: int | None = None
    below_start: int = 0
    explained: list[Explanation] = field(default_factory=list)

    @property
    def findings(self) -> int:
        return self.missing_count + self.duplicate_count + self.ahead_count

    @property
    def explained_count(self) -> int:
        return sum(explanation.missing for explanation in self.explained)


@dataclass
class CheckReport:
    """The outcome of a check: per-sequence findings plus table-wide counts."""

    model: str
    field_name: str
    documents_database: str
    sequences_database: str
    filters: dict[str, str]
    mode: str
    limit: int
    rows: int = 0
    null: int = 0
    sequences: list[SequenceReport] = field(default_factory=list)
    unparseable_count: int = 0
    unparseable: list[str] = field(default_factory=list)
    #: Whether documents and sequences were read from one snapshot.
    one_snapshot: bool = True

    @property
    def findings(self) -> int:
        return self.unparseable_count + sum(report.findings for report in self.sequences)

    @property
    def clean(self) -> bool:
        return self.findings == 0

    def as_json(self) -> dict[str, Any]:
        """The documented JSON document (``schema`` :data:`SCHEMA_VERSION`)."""
        return {
            "schema": SCHEMA_VERSION,
            "model": self.model,
            "field": self.field_name,
            "mode": self.mode,
            "documents_database": self.documents_database,
            "sequences_database": self.sequences_database,
            "one_snapshot": self.one_snapshot,
            "filters": self.filters,
            "limit": self.limit,
            "clean": self.clean,
            "findings": self.findings,
            "rows": self.rows,
            "null": self.null,
            "unparseable": {
                "count": self.unparseable_count,
                "values": self.unparseable,
                "truncated": self.unparseable_count > len(self.unparseable),
            },
            "sequences": [
                {
                    "name": report.name,
                    "last": report.last,
                    "start": report.start,
                    "documents": report.documents,
                    "highest": report.highest,
                    "below_start": report.below_start,
                    "findings": report.findings,
                    "missing": {
                        "count": report.missing_count,
                        "ranges": [compress([span]) for span in report.missing_ranges],
                        "truncated": report.missing_truncated,
                    },
                    "duplicates": {
                        "count": report.duplicate_count,
                        "values": [
                            {"value": value, "documents": documents}
                            for value, documents in report.duplicates
                        ],
                        "truncated": report.duplicate_truncated,
                    },
                    "ahead": {
                        "count": report.ahead_count,
                        "values": report.ahead_values,
                        "truncated": report.ahead_truncated,
                    },
                    "explained": {
                        "count": report.explained_count,
                        "spans": [
                            {
                                "first": explanation.first,
                                "last": explanation.last,
                                "missing": explanation.missing,
                                "change": describe_change(explanation.change),
                            }
                            for explanation in report.explained
                        ],
                    },
                }
                for report in self.sequences
            ],
        }


def describe_change(change: SequenceChange) -> dict[str, Any]:
    return {
        "id": change.pk,
        "action": change.action,
        "source": change.source,
        "at": change.created_at.isoformat(),
        "username": change.username,
        "last_before": change.last_before,
        "last_after": change.last_after,
        "reason": change.reason,
    }


def compress(ranges: Iterable[tuple[int, int]]) -> str:
    """``[(4, 4), (6, 8)]`` → ``"4, 6-8"``."""
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)


# Snapshot


@contextlib.contextmanager
def snapshot(aliases: Iterable[str]) -> Iterator[bool]:
    """Read each database in ``aliases`` from one snapshot until the block ends.

    Opens a repeatable-read, read-only transaction per database (SQLite: a
    transaction, which sees one snapshot). Inside a transaction that the
    caller opened, that transaction is used as it is: its isolation level
    decides. Yields whether all reads share one snapshot, which needs a
    single database and a transaction opened here.
    """
    aliases = list(dict.fromkeys(aliases))
    shared = len(aliases) == 1
    with contextlib.ExitStack() as stack:
        for alias in aliases:
            connection = connections[alias]
            if connection.in_atomic_block:
                shared = False
                continue
            if connection.vendor == "mysql":
                connection.ensure_connection()
                with connection.cursor() as cursor:
                    cursor.execute(MYSQL_SNAPSHOT)
            if connection.vendor == "sqlite":
                stack.enter_context(_deferred_atomic(connection))
                continue
            stack.enter_context(transaction.atomic(using=alias))
            if connection.vendor in ("postgresql", "mysql"):
                with connection.cursor() as cursor:
                    cursor.execute(
                        POSTGRESQL_SNAPSHOT if connection.vendor == "postgresql" else MYSQL_BEGIN
                    )
        yield shared


@contextlib.contextmanager
def _deferred_atomic(connection: Any) -> Iterator[None]:
    """``atomic()`` on SQLite, begun ``DEFERRED`` whatever ``transaction_mode`` says.

    With ``"transaction_mode": "IMMEDIATE"`` (what ``sequences.W101``
    recommends), ``atomic()`` takes the write lock at ``BEGIN``, and a check
    would hold every writer off until it ends. A deferred transaction that
    only reads takes no write lock, and still reads one snapshot. The
    connection's ``transaction_mode`` is put back as soon as ``BEGIN`` has run.
    """
    from .backends.sqlite import BEGUN_DEFERRED

    connection.ensure_connection()  # connecting sets transaction_mode from OPTIONS
    mode = getattr(connection, "transaction_mode", None)
    with contextlib.ExitStack() as stack:
        connection.transaction_mode = None
        try:
            stack.enter_context(transaction.atomic(using=connection.alias))
        finally:
            connection.transaction_mode = mode
        # For holds_write_lock: transaction_mode no longer says how this began.
        connection.__dict__[BEGUN_DEFERRED] = True
        stack.callback(connection.__dict__.pop, BEGUN_DEFERRED, None)
        yield


# Explanations


def _forward_changes(alias: str, **lookup: Any) -> models.QuerySet[SequenceChange]:
    """The audit records that may have skipped values, oldest first."""
    from .models import SequenceChange

    return (
        SequenceChange.objects.using(alias)
        .filter(**lookup)
        .exclude(action=SequenceChange.Action.DELETE)
        .exclude(last_after=None)
        .order_by("created_at", "id")
    )


def _explanations(
    name: str,
    start: int,
    last: int | None,
    alias: str,
    changes: Iterable[SequenceChange] | None = None,
) -> list[Explanation]:
    """The spans that audited resets and seeds skipped, each value given to its first change.

    A reset, seed or initialisation that moved ``last`` forward skipped the
    values between the old and the new ``last`` (from ``start`` when the
    sequence did not exist): no document can hold them, and the audit record
    says why.
    """
    if last is None or last < start:
        return []
    if changes is None:
        changes = _forward_changes(alias, sequence_name=name)
    covered: list[tuple[int, int]] = []
    explanations = []
    for change in changes:
        assert change.last_after is not None
        before = change.last_before if change.last_before is not None else start - 1
        first, end = max(before + 1, start), min(change.last_after, last)
        for piece in _subtract((first, end), covered):
            explanations.append(Explanation(change, *piece))
        if first <= end:
            covered = _merge([*covered, (first, end)])
    explanations.sort(key=lambda explanation: explanation.first)
    return explanations


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for first, last in sorted(spans):
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def _subtract(span: tuple[int, int], covered: list[tuple[int, int]]) -> list[tuple[int, int]]:
    first, last = span
    pieces = []
    for a, b in covered:
        if b < first or a > last:
            continue
        if a > first:
            pieces.append((first, a - 1))
        first = max(first, b + 1)
    if first <= last:
        pieces.append((first, last))
    return pieces


def _split(
    gaps: Iterable[tuple[int, int]], explanations: list[Explanation]
) -> Iterator[tuple[int, int, Explanation | None]]:
    """Cut sorted gaps along the (sorted, disjoint) explained spans."""
    index = 0
    for first, last in gaps:
        while first <= last:
            while index < len(explanations) and explanations[index].last < first:
                index += 1
            if index == len(explanations) or explanations[index].first > last:
                yield first, last, None
                break
            explanation = explanations[index]
            if explanation.first > first:
                yield first, explanation.first - 1, None
                first = explanation.first
            end = min(last, explanation.last)
            yield first, end, explanation
            first = end + 1


# Checks


def documents_alias(model: type[models.Model]) -> str:
    """The database the documents are read from: the model's router."""
    return router.db_for_read(model)


def check_sequence(
    model: type[models.Model],
    field_name: str,
    sequence_name: str,
    *,
    start: int | None = None,
    filters: dict[str, str] | None = None,
    using: str | None = None,
    limit: int = 100,
) -> CheckReport:
    """Check the integers in ``model.field_name`` against sequence ``sequence_name``.

    The documents come from the model's router, the sequence from ``using``
    (default: the router's read database for sequences). Without ``start``,
    the lowest number found is the start (the sequences table does not store
    ``initial_value``); with no documents at all, 1. Raises ``LookupError``
    when the sequence does not exist. The work runs on the server in one pass.
    """
    from .models import Sequence

    _check_limit(limit)
    filters = dict(filters or {})
    sequences_alias = using if using is not None else router.db_for_read(Sequence)
    alias = documents_alias(model)
    column = model._meta.get_field(field_name)
    if not isinstance(column, models.IntegerField):
        raise ValueError(
            f"{model._meta.label}.{field_name} must be an integer field to be checked "
            f"against a sequence, not {type(column).__name__}"
        )
    rows = model._default_manager.using(alias).filter(**filters)
    report = CheckReport(
        model=model._meta.label,
        field_name=field_name,
        documents_database=alias,
        sequences_database=sequences_alias,
        filters=filters,
        mode="sequence",
        limit=limit,
    )
    # Several statements over the documents agree only in a snapshot opened
    # here; in the caller's transaction (its isolation level decides), the
    # totals come from one statement.
    statements_agree = not connections[alias].in_atomic_block
    with snapshot([sequences_alias, alias]) as shared:
        report.one_snapshot = shared
        last = (
            Sequence.objects.using(sequences_alias)
            .filter(name=sequence_name)
            .values_list("last", flat=True)
            .first()
        )
        if last is None:
            raise LookupError(sequence_name)
        sequence = _summarize(
            rows, column, sequence_name, last, start, report, alias, ranges=statements_agree
        )
        report.sequences.append(sequence)
        missing = max(0, last - sequence.start + 1) - sequence.missing_count
        sequence.missing_count = missing
        if missing:
            sequence.explained = _explanations(
                sequence_name, sequence.start, last, sequences_alias
            )
            numbered = rows.exclude(**{column.name: None})
            for explanation in sequence.explained:
                held = (
                    numbered.filter(
                        **{
                            f"{column.name}__gte": explanation.first,
                            f"{column.name}__lte": explanation.last,
                        }
                    )
                    .values(column.name)
                    .distinct()
                    .count()
                )
                explanation.missing = explanation.last - explanation.first + 1 - held
            sequence.missing_count -= sequence.explained_count
            if sequence.missing_count:
                _list_gaps(rows, column, sequence, limit, alias)
        if sequence.duplicate_count:
            repeated = (
                rows.filter(**{f"{column.name}__gte": sequence.start})
                .order_by()
                .values_list(column.name)
                .annotate(documents=models.Count("*"))
                .filter(documents__gt=1)
                .order_by(column.name)[: limit + 1]
            )
            sequence.duplicates = [(int(n), int(c)) for n, c in repeated]
            sequence.duplicate_truncated = len(sequence.duplicates) > limit
            del sequence.duplicates[limit:]
        if sequence.ahead_count:
            ahead = (
                rows.filter(**{f"{column.name}__gt": last})
                .order_by(column.name)
                .values_list(column.name, flat=True)
                .distinct()[: limit + 1]
            )
            sequence.ahead_values = [int(n) for n in ahead]
            sequence.ahead_truncated = len(sequence.ahead_values) > limit
            del sequence.ahead_values[limit:]
    return report


def _inline(
    sql: str, name: str, query: models.QuerySet[Any], alias: str
) -> tuple[str, dict[str, Any]]:
    """Put ``query``'s SQL in place of ``{name}`` in ``sql``, its parameters named."""
    inner, params = query.query.get_compiler(alias).as_sql()
    names = [f"{name}{index}" for index in range(len(params))]
    inner = inner.replace("%%", "\x00")
    for param_name in names:
        inner = inner.replace("%s", f"%({param_name})s", 1)
    inner = inner.replace("\x00", "%%")
    return sql.replace("{" + name + "}", inner), dict(zip(names, params, strict=True))


def _fixed_fields(opts: Any, filters: dict[str, str]) -> set[str] | None:
    """The fields that ``filters`` fix to one value each (``field=`` or ``field__exact=``).

    ``None`` when some filter does not fix a field of the model to one value
    (another lookup, a related field, an unknown name).
    """
    fixed = set()
    for key, value in filters.items():
        name, _, lookup = key.partition("__")
        if lookup not in ("", "exact") or value is None:
            return None
        try:
            fixed.add(opts.get_field(name).name)
        except FieldDoesNotExist:
            return None
    return fixed


def _field_lists(opts: Any, *, unique_only: bool) -> Iterator[list[str | None]]:
    """The fields of each unique constraint, and unless ``unique_only`` of each index.

    Names are resolved to their field's name (``None`` for one that is not a
    field). Conditional indexes and constraints, and those on expressions, are
    left out: they cannot answer for every row.
    """
    lists = [list(names) for names in opts.unique_together]
    lists += [
        list(constraint.fields)
        for constraint in opts.constraints
        if isinstance(constraint, models.UniqueConstraint)
        and constraint.condition is None
        and not constraint.expressions
        and constraint.fields
    ]
    if not unique_only:
        lists += [
            [name.lstrip("-") for name in index.fields]
            for index in opts.indexes
            if index.fields and index.condition is None
        ]
    for names in lists:
        resolved: list[str | None] = []
        for name in names:
            try:
                resolved.append(opts.get_field(name).name)
            except FieldDoesNotExist:
                resolved.append(None)
        yield resolved


def unique_under(model: type[models.Model], field_name: str, filters: dict[str, str]) -> bool:
    """Whether a constraint makes ``field_name`` unique among the filtered rows.

    True for a unique field, or for a unique constraint (or ``unique_together``)
    on the field plus fields that the filters fix to one value each.
    """
    opts = model._meta
    column = opts.get_field(field_name)
    if getattr(column, "unique", False):
        return True
    # Other filters keep fewer rows, which stay unique.
    fixed = {column.name}
    for key, value in filters.items():
        name, _, lookup = key.partition("__")
        # field=None matches NULLs, which a unique constraint does not make unique.
        if lookup in ("", "exact") and value is not None:
            with contextlib.suppress(FieldDoesNotExist):
                fixed.add(opts.get_field(name).name)
    return any(
        column.name in names and set(names) <= fixed
        for names in _field_lists(opts, unique_only=True)
    )


def leads_an_index(
    model: type[models.Model], field_name: str, filters: dict[str, str] | None = None
) -> bool:
    """Whether an index can answer the totals of the filtered rows by lookups.

    True when an index (or a unique constraint) on ``model`` has ``field_name``
    first, or right after exactly the fields that ``filters`` fix to one value
    each, as ``UniqueConstraint(fields=["year", "number"])`` with
    ``--filter year=2026``.
    """
    opts = model._meta
    column = opts.get_field(field_name)
    fixed = _fixed_fields(opts, filters or {})
    if fixed is None:
        return False
    if not fixed and (getattr(column, "db_index", False) or getattr(column, "unique", False)):
        return True
    return any(
        column.name in names and set(names[: names.index(column.name)]) == fixed
        for names in _field_lists(opts, unique_only=False)
    )


def _summarize(
    rows: models.QuerySet[Any],
    column: models.Field[Any, Any],
    name: str,
    last: int,
    start: int | None,
    report: CheckReport,
    alias: str,
    *,
    ranges: bool,
) -> SequenceReport:
    """One statement over the documents: the totals and whether anything is wrong.

    With ``ranges`` (the documents read in a snapshot opened by the check), a
    non-unique indexed number on PostgreSQL is counted in ranges instead: two
    statements.

    A second one, grouped by number, when some number is held twice.

    Returns a :class:`SequenceReport` whose ``missing_count`` temporarily holds
    the distinct numbers found from the start to ``last``.
    """
    documents = rows.order_by().values(n=models.F(column.name))
    parameters = {"last": last, "start": start if start is not None else -(2**63)}
    # Without a start, every number is at or above it (the start is the lowest).
    unique = unique_under(rows.model, column.name, report.filters)
    vendor = connections[alias].vendor
    indexed = leads_an_index(rows.model, column.name, report.filters)
    if indexed and not unique and vendor == "postgresql" and ranges:
        summary = SUMMARY_BOUNDS_SQL
    elif indexed:
        summary = SUMMARY_INDEXED_SQL.replace(
            "{distinct}",
            "NULL"
            if unique
            else INDEXED_COUNT_DISTINCT_SQL
            if vendor == "mysql"
            else INDEXED_DISTINCT_SQL,
        )
    elif unique:
        summary = SUMMARY_UNIQUE_SQL
    elif vendor == "sqlite":
        summary = SUMMARY_DISTINCT_BESIDE_SQL
    else:
        summary = SUMMARY_COUNT_DISTINCT_SQL
    sql, inlined = _inline(summary, "documents", documents, alias)
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, {**parameters, **inlined})
        row = cursor.fetchone()
        if summary is SUMMARY_BOUNDS_SQL:
            null, ahead, below, lowest, highest = row
            numbered, distinct = _count_in_ranges(cursor, documents, lowest, highest, alias)
            total = numbered + int(null)
            in_range = numbered - int(ahead) - int(below)
        elif summary is SUMMARY_DISTINCT_BESIDE_SQL:
            total, null, in_range, ahead, below, lowest, highest, distinct = row
        elif summary in (SUMMARY_UNIQUE_SQL, SUMMARY_COUNT_DISTINCT_SQL):
            total, null, in_range, ahead, below, distinct, lowest, highest = row
        else:
            total, null, ahead, below, distinct, lowest, highest = row
            numbered = int(total) - int(null)
            if unique:
                distinct = numbered
            # Right when no number is held twice; recounted below otherwise.
            in_range = numbered - int(ahead) - int(below)
        repeated = 0
        if int(distinct or 0) != int(total or 0) - int(null or 0):
            # Some number is held twice: count them, grouped (the numbers'
            # distinct count from the start to ``last`` comes with it).
            grouped = documents.annotate(c=models.Count("*")).values("n", "c")
            sql, inlined = _inline(SUMMARY_GROUPED_SQL, "documents", grouped, alias)
            cursor.execute(sql, {**parameters, **inlined})
            total, null, in_range, ahead, below, repeated, lowest, highest = cursor.fetchone()
    if start is None:
        start = int(lowest) if lowest is not None else 1
    report.rows += int(total or 0)
    report.null += int(null or 0)
    return SequenceReport(
        name=name,
        last=last,
        start=start,
        documents=int(total or 0) - int(null or 0),
        missing_count=int(in_range or 0),
        duplicate_count=int(repeated or 0),
        ahead_count=int(ahead or 0),
        highest=None if highest is None else int(highest),
        below_start=int(below or 0),
    )


def _count_in_ranges(
    cursor: Any,
    documents: models.QuerySet[Any],
    lowest: int | None,
    highest: int | None,
    alias: str,
) -> tuple[int, int]:
    """The numbered documents and their distinct numbers, counted in ranges (RANGE_SQL).

    Up to MAX_RANGES ranges of about RANGE_NUMBERS values between ``lowest``
    and ``highest``: the first is open below and the last open above, so every
    number is counted once whatever the bounds.
    """
    if lowest is None or highest is None:
        return 0, 0
    lowest, highest = int(lowest), int(highest)
    span = highest - lowest + 1
    ranges = min(MAX_RANGES, -(-span // RANGE_NUMBERS))
    bounds = [lowest + span * index // ranges for index in range(1, ranges)]
    branches = []
    for index in range(ranges):
        conditions = []
        if index > 0:
            conditions.append(f"n >= %(bound{index - 1})s")
        if index < ranges - 1:
            conditions.append(f"n < %(bound{index})s")
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        branches.append(RANGE_SQL + where)
    sql = (
        "SELECT SUM(numbers), SUM(distinct_numbers) FROM ("
        + " UNION ALL ".join(branches)
        + ") ranges"
    )
    sql, parameters = _inline(sql, "documents", documents, alias)
    parameters.update({f"bound{index}": bound for index, bound in enumerate(bounds)})
    cursor.execute(sql, parameters)
    numbered, distinct = cursor.fetchone()
    return int(numbered or 0), int(distinct or 0)


def _list_gaps(
    rows: models.QuerySet[Any],
    column: models.Field[Any, Any],
    report: SequenceReport,
    limit: int,
    alias: str,
) -> None:
    assert report.last is not None
    last, start = report.last, report.start
    distinct = (
        rows.exclude(**{column.name: None}).order_by().values(n=models.F(column.name)).distinct()
    )
    sql, parameters = _inline(GAPS_SQL, "distinct", distinct, alias)
    # Gaps wholly inside explained spans come back too; read enough rows that
    # ``limit`` unexplained ones are among them, and no more.
    spare = 2 * len(report.explained) + sum(
        explanation.last - explanation.first + 1 - explanation.missing
        for explanation in report.explained
    )
    wanted = limit + 1 + spare
    parameters.update({"last": last, "start": start, "before_start": start - 1, "wanted": wanted})
    gaps: list[tuple[int, int]] = []
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, parameters)
        for q, n in cursor.fetchall():
            gaps.append((max(int(q) + 1, start), min(int(n) - 1, last)))
    # The gap after the highest number, when none is above ``last`` (LAG
    # finds a gap only before a number).
    top = report.highest if report.highest is not None else start - 1
    if top < last and max(top + 1, start) <= last and len(gaps) < wanted:
        gaps.append((max(top + 1, start), last))
    _list_missing(report, gaps, limit)


def _list_missing(report: SequenceReport, gaps: Iterable[tuple[int, int]], limit: int) -> None:
    for first, last, explanation in _split(gaps, report.explained):
        if explanation is not None:
            continue
        if len(report.missing_ranges) == limit:
            report.missing_truncated = True
            break
        report.missing_ranges.append((first, last))


def _check_limit(limit: object) -> None:
    """``limit`` as ``--limit`` allows it: an int of at least 1."""
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise TypeError(
            f"limit must be an int of at least 1, got {type(limit).__name__}: {limit!r}"
        )
    if limit < 1:
        raise ValueError(f"limit must be an int of at least 1, got {limit}")


def check_series(
    model: type[models.Model],
    field_name: str,
    series: NumberSeries,
    *,
    filters: dict[str, str] | None = None,
    using: str | None = None,
    limit: int = 100,
    chunk_size: int = CHUNK_SIZE,
) -> CheckReport:
    """Check the formatted numbers in ``model.field_name`` against every sequence of ``series``.

    Each number is parsed (:meth:`NumberSeries.parse`) to its sequence and
    value. The table is streamed in chunks of ``chunk_size`` rows inside one
    snapshot, sorted on the server so that each sequence's numbers arrive in
    ascending order (:func:`text_order_is_numeric`): client memory then holds
    one chunk, the current value of each sequence and the lists capped by
    ``limit``, whatever the table's size or the sequences' last values. For a
    format whose text order is not numeric, a column that is not a
    ``CharField``/``TextField``, or a server order found not to be numeric
    (read again in the same snapshot), it keeps one bit per value up to each
    sequence's last value. ``limit`` must be an int of at least 1. Each period and scope starts at
    the series' ``initial_value``.
    """
    from .models import Sequence

    _check_limit(limit)
    filters = dict(filters or {})
    sequences_alias = using if using is not None else router.db_for_read(Sequence)
    alias = documents_alias(model)
    column = model._meta.get_field(field_name)
    if not isinstance(column, models.Field) or column.column is None:
        raise ValueError(f"{model._meta.label}.{field_name} is not a field with a column")
    rows = model._default_manager.using(alias).filter(**filters)
    report = CheckReport(
        model=model._meta.label,
        field_name=field_name,
        documents_database=alias,
        sequences_database=sequences_alias,
        filters=filters,
        mode="series",
        limit=limit,
    )
    start = series.initial_value
    # Only a text column sorts as text on every backend: PostgreSQL has no
    # length(integer) and no collation on integers.
    ordered = text_order_is_numeric(series) and isinstance(
        column, (models.CharField, models.TextField)
    )
    with snapshot([sequences_alias, alias]) as shared:
        report.one_snapshot = shared
        candidates = Sequence.objects.using(sequences_alias)
        prefix = series.name + "."
        candidates = candidates.filter(
            models.Q(name=series.name) | models.Q(name__startswith=prefix)
        )
        # One query for the audit records of the whole series, not one per
        # period; read first, because gaps are explained as they are found.
        changes: dict[str, list[SequenceChange]] = {}
        for change in _forward_changes(
            sequences_alias, sequence_name__in=candidates.values("name")
        ):
            changes.setdefault(change.sequence_name, []).append(change)

        def tracker_for(name: str, last: int | None, ordered: bool) -> _Run | _Tracker:
            sequence = SequenceReport(name=name, last=last, start=start)
            sequence.explained = _explanations(
                name, start, last, sequences_alias, changes.get(name, [])
            )
            return _Run(sequence, limit) if ordered else _Tracker(sequence)

        def scan(ordered: bool) -> None:
            report.rows = report.null = report.unparseable_count = 0
            report.unparseable.clear()
            report.sequences.clear()
            trackers: dict[str, _Run | _Tracker] = {}
            for name, last in candidates.values_list("name", "last").iterator():
                if series.split_sequence_name(name) is not None:
                    trackers[name] = tracker_for(name, last, ordered)
            stream = _stream(rows, column, alias, chunk_size, ordered=ordered)
            # closing(): an _OutOfOrder must close the cursor before the second read.
            with contextlib.closing(stream):
                for text in stream:
                    report.rows += 1
                    if text is None:
                        report.null += 1
                        continue
                    try:
                        name, value = series.parse(str(text))
                    except ValueError:
                        report.unparseable_count += 1
                        _keep_lowest(report.unparseable, str(text), limit)
                        continue
                    tracker = trackers.get(name)
                    if tracker is None:
                        tracker = trackers[name] = tracker_for(name, None, ordered)
                    tracker.add(value)
            for name in sorted(trackers):
                tracker = trackers[name]
                tracker.finish(limit)
                report.sequences.append(tracker.report)

        try:
            scan(ordered)
        except _OutOfOrder:
            # The server's order was not numeric for some sequence (a format
            # or collation we did not foresee): read again, in the same
            # snapshot, with a bitmap per sequence, which needs no order.
            scan(False)
    return report


def text_order_is_numeric(series: NumberSeries) -> bool:
    """Whether sorting a series' numbers by length, then text, sorts each sequence numerically.

    True when every field but ``{value}`` is the same for all the numbers of
    one sequence: ``{scope}``, ``{period}`` and the date fields that the
    period fixes (``{year}`` with ``period="year"``). The numbers of one
    sequence then differ only in their digits of ``{value}``: a longer number
    is a larger one, and equally long ones compare digit by digit. A date
    field finer than the period (``{month}`` in a yearly series), or any date
    field with a callable or no period, breaks this.
    """
    fixed = {"year": ("year",), "month": ("year", "month"), "day": ("year", "month", "day")}
    period = series.period
    fixed_fields = set(fixed[period]) if isinstance(period, str) else set()
    return not ({"year", "month", "day"} & series._fields) - fixed_fields


def _stream(
    rows: models.QuerySet[Any],
    column: models.Field[Any, Any],
    alias: str,
    chunk_size: int,
    *,
    ordered: bool,
) -> Generator[Any, None, None]:
    """The column's values, read ``chunk_size`` rows at a time.

    With ``ordered``, sorted as :func:`text_order_is_numeric` describes.
    """
    connection = connections[alias]
    values = rows.values_list(column.attname, flat=True).order_by()
    if ordered:
        text: Any = models.F(column.attname)
        # Byte order, not the column's collation (which may ignore case or punctuation).
        if connection.vendor == "postgresql":
            text = Collate(text, "C")
        elif connection.vendor == "mysql":
            text = models.Func(text, template="CAST(%(expressions)s AS BINARY)")
        else:
            text = Collate(text, "BINARY")
        values = values.order_by(Length(column.attname), text)
    if connection.vendor != "mysql":
        # A server-side cursor on PostgreSQL; SQLite steps through the result.
        yield from values.iterator(chunk_size=chunk_size)
        return
    # mysqlclient's cursors store the whole result in the client before the
    # first row; an unbuffered cursor (SSCursor) reads it as it is consumed.
    from MySQLdb.cursors import SSCursor

    sql, params = values.query.get_compiler(alias).as_sql()
    connection.ensure_connection()
    cursor = connection.connection.cursor(SSCursor)
    try:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(chunk_size):
            for (value,) in chunk:
                yield value
    finally:
        cursor.close()


def _keep_lowest(values: list[str], value: str, limit: int) -> None:
    """Keep ``values`` the ``limit`` lowest seen, ascending."""
    if limit < 1:
        return
    if len(values) < limit or value < values[-1]:
        bisect.insort(values, value)
        del values[limit:]


class _OutOfOrder(Exception):
    """A sequence's numbers did not arrive in ascending order: :class:`_Run` cannot check them."""


class _Run:
    """One sequence's numbers, read in ascending order: only the current value is kept.

    Memory is the ``limit``-capped lists of the report, whatever the number
    of documents or the sequence's last value.
    """

    def __init__(self, report: SequenceReport, limit: int) -> None:
        self.report = report
        self.limit = limit
        #: The value being read, and how many documents hold it.
        self.current: int | None = None
        self.held = 0
        self.missing = 0

    def add(self, value: int) -> None:
        report = self.report
        report.documents += 1
        if report.highest is not None and value < report.highest:
            raise _OutOfOrder(f"{report.name}: {value} read after {report.highest}")
        report.highest = value
        if value < report.start:
            # Counted, not checked: the sequence never issued them.
            report.below_start += 1
            return
        if value == self.current:
            self.held += 1
            return
        self._close()
        self._gap(value - 1)
        self.current, self.held = value, 1

    def _close(self) -> None:
        """Record the current value's duplicates or documents ahead."""
        report, value, limit = self.report, self.current, self.limit
        if value is None:
            return
        if self.held > 1:
            report.duplicate_count += 1
            if len(report.duplicates) < limit:
                report.duplicates.append((value, self.held))
            else:
                report.duplicate_truncated = True
        if report.last is None or value > report.last:
            report.ahead_count += self.held
            if len(report.ahead_values) < limit:
                report.ahead_values.append(value)
            else:
                report.ahead_truncated = True

    def _gap(self, end: int) -> None:
        """The values after the current one up to ``end`` (at most ``last``) are missing."""
        report = self.report
        if report.last is None:
            return
        first = report.start if self.current is None else self.current + 1
        end = min(end, report.last)
        if first > end:
            return
        for a, b, explanation in _split([(first, end)], report.explained):
            if explanation is not None:
                explanation.missing += b - a + 1
                continue
            self.missing += b - a + 1
            if len(report.missing_ranges) < self.limit:
                report.missing_ranges.append((a, b))
            else:
                report.missing_truncated = True

    def finish(self, limit: int) -> None:
        self._close()
        if self.report.last is not None:
            self._gap(self.report.last)
        self.report.missing_count = self.missing


class _Tracker:
    """One sequence's numbers in any order, as a bitmap from ``start`` to ``last``.

    For formats whose text order is not numeric (:func:`text_order_is_numeric`).
    """

    def __init__(self, report: SequenceReport) -> None:
        self.report = report
        size = 0 if report.last is None else max(0, report.last - report.start + 1)
        self.size = size
        self.seen = bytearray((size + 7) // 8)
        #: Values held more than once: value -> documents.
        self.repeated: dict[int, int] = {}
        #: Values above ``last``: value -> documents.
        self.ahead: dict[int, int] = {}

    def add(self, value: int) -> None:
        report = self.report
        report.documents += 1
        report.highest = value if report.highest is None else max(report.highest, value)
        offset = value - report.start
        if offset < 0:
            # Counted, not checked: the sequence never issued them.
            report.below_start += 1
            return
        if offset >= self.size:
            self.ahead[value] = self.ahead.get(value, 0) + 1
            return
        byte, bit = divmod(offset, 8)
        if self.seen[byte] >> bit & 1:
            self.repeated[value] = self.repeated.get(value, 1) + 1
        else:
            self.seen[byte] |= 1 << bit

    def gaps(self) -> Iterator[tuple[int, int]]:
        start, seen, size = self.report.start, self.seen, self.size
        first: int | None = None
        for index, byte in enumerate(seen):
            if byte == 0xFF and first is None:
                continue
            for bit in range(8):
                offset = index * 8 + bit
                if offset >= size:
                    break
                if byte >> bit & 1:
                    if first is not None:
                        yield start + first, start + offset - 1
                        first = None
                elif first is None:
                    first = offset
        if first is not None:
            yield start + first, start + size - 1

    def finish(self, limit: int) -> None:
        report = self.report
        for value, documents in self.ahead.items():
            if documents > 1:
                self.repeated[value] = documents
        duplicates = sorted(self.repeated.items())
        report.duplicate_count = len(duplicates)
        report.duplicates = duplicates[:limit]
        report.duplicate_truncated = len(duplicates) > limit
        ahead = sorted(self.ahead)
        report.ahead_count = sum(self.ahead.values())
        report.ahead_values = ahead[:limit]
        report.ahead_truncated = len(ahead) > limit
        missing = 0
        for first, last, explanation in _split(self.gaps(), report.explained):
            if explanation is not None:
                explanation.missing += last - first + 1
                continue
            missing += last - first + 1
            if len(report.missing_ranges) < limit:
                report.missing_ranges.append((first, last))
            else:
                report.missing_truncated = True
        report.missing_count = missing
