"""The sequence list takes a constant number of queries, however many sequences."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sequences.models import Sequence, SequenceChange

from .admin_helpers import VIEW, client_for, make_user, url

pytestmark = pytest.mark.django_db

#: Session, user, permissions, counts and the page itself; never one per row.
MAX_QUERIES = 10


#: ``'seq-'`` and ``n`` padded to six digits, in each backend's SQL.
NAME_SQL = {
    "sqlite": "'seq-' || substr('000000' || n, -6, 6)",
    "postgresql": "'seq-' || lpad(CAST(n AS text), 6, '0')",
    "mysql": "CONCAT('seq-', LPAD(n, 6, '0'))",
}

#: The numbers 0 to 99,999, built without deep recursion (MariaDB stops at 1,000 levels).
NUMBERS_SQL = """
    WITH RECURSIVE digits (d) AS (SELECT 0 UNION ALL SELECT d + 1 FROM digits WHERE d < 9),
    numbers (n) AS (
        SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d
        FROM digits a, digits b, digits c, digits e, digits f
    )
"""


def add_sequences(start: int, stop: int, *, audited_every: int = 2) -> None:
    """Sequences ``seq-<start>`` to ``seq-<stop - 1>``, every other one with an audit record.

    Bulk-created in two INSERT ... SELECT statements, so that 100,000 rows
    take a second rather than a minute of building model instances.
    """
    assert 0 <= start <= stop <= 100_000
    name = NAME_SQL[connection.vendor]
    q = connection.ops.quote_name
    change_columns = ", ".join(
        q(column)
        for column in (
            "sequence_name", "database", "action", "last_before", "last_after",
            "allow_reuse", "reason", "source", "username", "created_at",
        )
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {q(Sequence._meta.db_table)} ({q('name')}, {q('last')}) "
            f"{NUMBERS_SQL} SELECT {name}, n FROM numbers WHERE n >= %s AND n < %s",
            [start, stop],
        )
        cursor.execute(
            f"INSERT INTO {q(SequenceChange._meta.db_table)} ({change_columns}) "
            f"{NUMBERS_SQL} SELECT {name}, 'default', 'reset', 0, n, %s, 'bulk', 'code', '', %s "
            "FROM numbers WHERE n >= %s AND n < %s AND n %% %s = 0",
            [False, timezone.now(), start, stop, audited_every],
        )


def queries_for(client, path: str, params: dict[str, str] | None = None) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, params or {})
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("params", [{}, {"o": "-3"}, {"q": "seq-0001"}])
def test_list_queries_do_not_grow_from_50_to_500_sequences(params):
    client = client_for(make_user("viewer", *VIEW))
    path = url("sequence_changelist")
    add_sequences(0, 50)
    client.get(path)  # warm the session and content type caches
    small = queries_for(client, path, params)

    add_sequences(50, 500)
    large = queries_for(client, path, params)

    assert large == small
    assert large <= MAX_QUERIES


def test_audit_list_queries_do_not_grow_with_the_number_of_records():
    client = client_for(make_user("viewer", *VIEW))
    path = url("sequencechange_changelist")
    add_sequences(0, 50, audited_every=1)
    client.get(path)
    small = queries_for(client, path)

    add_sequences(50, 500, audited_every=1)
    large = queries_for(client, path)

    assert large == small
    assert large <= MAX_QUERIES


def test_sequence_page_takes_a_constant_number_of_queries():
    client = client_for(make_user("viewer", *VIEW))
    add_sequences(0, 500, audited_every=1)
    client.get(url("sequence_change", "seq-000010"))

    assert queries_for(client, url("sequence_change", "seq-000010")) <= MAX_QUERIES


def test_list_of_100000_sequences_shows_one_page_in_a_constant_number_of_queries():
    client = client_for(make_user("viewer", *VIEW))
    add_sequences(0, 100_000)
    path = url("sequence_changelist")
    client.get(path)

    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, {"o": "-3", "p": "500"})

    assert response.status_code == 200
    changelist = response.context["cl"]
    assert changelist.result_count == 100_000
    assert len(changelist.result_list) == 100
    assert len(captured) <= MAX_QUERIES
    search = client.get(path, {"q": "seq-09999"})
    assert [s.name for s in search.context["cl"].result_list] == [
        f"seq-{n:06d}" for n in range(99_990, 100_000)
    ]
