"""A client process for test_unreplicated_commit: one draw, committed, what it was told.

``python -m tests.multiserver.unreplicated_client PORT DRIVER MODE`` draws one
value of the ``hazard`` sequence on the server at PORT, with the driver
``psycopg`` or ``psycopg2`` (Django picks psycopg 3 when it is importable, so
it is hidden for psycopg2), in ``atomic`` or ``autocommit`` mode. It prints one
JSON line when the value is drawn and one after the commit with the value, the
``commit_not_replicated`` signals and the CRITICAL log records it received.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any

APPLICATION_NAME = "multi-unreplicated-client"
SEQUENCE = "hazard"
INSERT_DOCUMENT = "INSERT INTO document (number) VALUES (%s)"


def main(port: str, driver: str, mode: str) -> None:
    if driver == "psycopg2":
        sys.modules["psycopg"] = None  # type: ignore[assignment]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.db import connections, transaction

    from sequences import get_next_value, get_next_values
    from sequences.signals import commit_not_replicated

    from .aliases import add_alias

    alias = "multi_client"
    add_alias(alias, host="127.0.0.1", port=port, application_name=APPLICATION_NAME)
    signals: list[dict[str, Any]] = []
    logs: list[str] = []

    def receiver(sender: Any, using: str, draws: Any, message: str, **kwargs: Any) -> None:
        signals.append(
            {
                "sender": sender.__name__,
                "using": using,
                "draws": [[name, values.start, values.stop] for name, values in draws],
                "message": message,
            }
        )

    class Records(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            logs.append(f"{record.levelname} {record.getMessage()}")

    commit_not_replicated.connect(receiver, weak=False)
    logging.getLogger("sequences").addHandler(Records(logging.CRITICAL))
    connection = connections[alias]
    connection.ensure_connection()
    used = type(connection.connection).__module__.split(".")[0]
    if mode == "atomic":
        with transaction.atomic(using=alias):
            value = get_next_value(SEQUENCE, using=alias)
            get_next_values(2, "other", using=alias)
            with connection.cursor() as cursor:
                cursor.execute(INSERT_DOCUMENT, [value])
            print(json.dumps({"drew": value}), flush=True)
    else:
        print(json.dumps({"drawing": True}), flush=True)
        value = get_next_value(SEQUENCE, using=alias)
    print(json.dumps({"value": value, "driver": used, "signals": signals, "logs": logs}))
    connection.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
