"""The benchmark databases through the raw drivers: create, fill, drop, connect.

No Django here: the raw-driver worker uses :func:`connect`, and the harness
creates and drops its databases (only those named by ``benchmarks.settings``,
all starting with ``seq_bench``) before any Django process starts.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path
from typing import Any

from benchmarks import settings

TABLE = "sequences_sequence"


def server_params(backend: str) -> dict[str, Any]:
    entry = settings.database(backend, "")
    if backend == "postgresql":
        return {
            "host": entry["HOST"],
            "port": int(entry["PORT"]),
            "user": entry["USER"],
            "password": entry["PASSWORD"] or None,
        }
    if backend == "mariadb":
        return {
            "host": entry["HOST"],
            "port": int(entry["PORT"]),
            "user": entry["USER"],
            "password": entry["PASSWORD"],
            "charset": "utf8mb4",
        }
    return {}


def name_of(backend: str, alias: str) -> str:
    return str(settings.database(backend, settings.SUFFIXES[alias])["NAME"])


def connect(backend: str, alias: str, *, autocommit: bool = True, timeout: float = 20) -> Any:
    """A raw driver connection to the benchmark database ``alias`` (autocommit on)."""
    name = name_of(backend, alias)
    if backend == "postgresql":
        try:
            import psycopg
        except ImportError:  # the psycopg2 workers' virtualenv has psycopg2 only
            import psycopg2

            connection = psycopg2.connect(dbname=name, **server_params(backend))
            connection.autocommit = autocommit
            return connection
        return psycopg.connect(dbname=name, autocommit=autocommit, **server_params(backend))
    if backend == "mariadb":
        import MySQLdb

        return MySQLdb.connect(database=name, autocommit=autocommit, **server_params(backend))
    # isolation_level=None: the sqlite3 module issues no BEGIN/COMMIT of its own.
    return sqlite3.connect(name, isolation_level=None, timeout=timeout)


#: What ``/proc/<id>/comm`` says for a server's session process or thread: a
#: session id is pinned only where it names one of these on this machine.
SERVER_PROCESS_NAMES = {"postgresql": ("postgres",), "mariadb": ("mariadbd", "mysqld")}


def server_thread(backend: str, connection: Any) -> int:
    """The operating-system id of the process or thread serving ``connection``.

    Raises ``LookupError`` where there is none on this machine (SQLite runs in
    the client; a server elsewhere, or in a container, has ids of its own).
    """
    if backend not in SERVER_PROCESS_NAMES:
        raise LookupError(f"{backend} has no server process")
    cursor = connection.cursor()
    try:
        if backend == "postgresql":
            cursor.execute("SELECT pg_backend_pid()")
        else:  # MariaDB; MySQL 8 names it performance_schema.threads.THREAD_OS_ID
            cursor.execute(
                "SELECT tid FROM information_schema.processlist WHERE id = CONNECTION_ID()"
            )
        (ident,) = cursor.fetchone()
    except Exception as exc:  # MySQL: no tid column
        raise LookupError(f"no operating-system id for the session ({exc})") from exc
    finally:
        cursor.close()
    try:
        name = Path(f"/proc/{ident}/comm").read_text().strip()
    except OSError:
        name = ""
    if name not in SERVER_PROCESS_NAMES[backend]:
        raise LookupError(f"session {ident} is not a {backend} process on this machine")
    return int(ident)


def reachable(backend: str) -> str | None:
    """Why ``backend`` cannot be benchmarked here, or ``None`` if it can."""
    try:
        _admin(backend).close()
    except ImportError as exc:
        return f"driver not installed ({exc.name})"
    except Exception as exc:
        return f"server unreachable ({str(exc).strip().splitlines()[0]})"
    return None


def _admin(backend: str) -> Any:
    if backend == "postgresql":
        import psycopg

        return psycopg.connect(dbname="postgres", autocommit=True, **server_params(backend))
    if backend == "mariadb":
        import MySQLdb

        return MySQLdb.connect(autocommit=True, **server_params(backend))
    return sqlite3.connect(":memory:")


def _check_ours(name: str) -> None:
    if not os.path.basename(name).startswith("seq_bench"):
        raise ValueError(f"refusing to touch {name!r}: not a benchmark database (seq_bench*)")


def drop_database(backend: str, name: str) -> None:
    """Drop one of the benchmarks' own databases (a SQLite file and its companions)."""
    _check_ours(name)
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name + suffix)
        return
    admin = _admin(backend)
    try:
        if backend == "postgresql":
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            admin.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        admin.close()


def create_database(backend: str, name: str) -> None:
    """Create one empty database on a server (SQLite: the file's folder)."""
    if backend == "sqlite":
        os.makedirs(os.path.dirname(name), exist_ok=True)
        return
    admin = _admin(backend)
    try:
        if backend == "postgresql":
            admin.execute(f'CREATE DATABASE "{name}"')
        else:
            admin.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    finally:
        admin.close()


def drop_databases(backend: str) -> None:
    for alias in settings.SUFFIXES:
        drop_database(backend, name_of(backend, alias))


def create_databases(backend: str) -> None:
    """Create empty benchmark databases (dropping leftovers of an interrupted run)."""
    drop_databases(backend)
    for alias in settings.SUFFIXES:
        name = name_of(backend, alias)
        create_database(backend, name)
        if backend == "sqlite":
            conn = sqlite3.connect(name)
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            conn.close()
            if mode != "wal":
                raise RuntimeError(f"SQLite refused WAL mode for {name}: {mode}")


def fill(backend: str, alias: str, rows: int) -> None:
    """Bulk-insert ``rows`` other sequences (``other-0000000`` ...) with the raw driver."""
    names = (f"other-{i:07d}" for i in range(rows))
    conn = connect(backend, alias)
    try:
        if backend == "postgresql":
            with conn.transaction(), conn.cursor() as cursor:
                with cursor.copy(f"COPY {TABLE} (name, last) FROM STDIN") as copy:
                    for i, name in enumerate(names):
                        copy.write_row((name, i % 1000 + 1))
                cursor.execute(f"ANALYZE {TABLE}")
        elif backend == "mariadb":
            cursor = conn.cursor()
            chunk = 5000
            for start in range(0, rows, chunk):
                stop = min(rows, start + chunk)
                values = [(f"other-{i:07d}", i % 1000 + 1) for i in range(start, stop)]
                cursor.executemany(f"INSERT INTO {TABLE} (name, last) VALUES (%s, %s)", values)
            cursor.execute(f"ANALYZE TABLE {TABLE}")
            cursor.fetchall()
        else:
            conn.execute("BEGIN")
            conn.executemany(
                f"INSERT INTO {TABLE} (name, last) VALUES (?, ?)",
                ((name, i % 1000 + 1) for i, name in enumerate(names)),
            )
            conn.execute("COMMIT")
            conn.execute("ANALYZE")
    finally:
        conn.close()


def count_rows(backend: str, alias: str) -> int:
    conn = connect(backend, alias)
    try:
        cursor = conn.cursor()
        cursor.execute(f"SELECT COUNT(*) FROM {TABLE}")
        return int(cursor.fetchone()[0])
    finally:
        conn.close()


def server_version(backend: str) -> str:
    if backend == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    admin = _admin(backend)
    try:
        cursor = admin.cursor()
        cursor.execute("SELECT version()")
        version = str(cursor.fetchone()[0])
    finally:
        admin.close()
    if backend == "postgresql":
        return " ".join(version.split()[:2])
    return f"MariaDB {version}"


def setup_django(entry: dict[str, Any]) -> None:
    """Configure Django with one database, ``entry``, and the test app's models; ``setup()``.

    For the benchmarks that run in a process of their own and use
    ``tests.testapp``'s document tables (``benchmarks.check``,
    ``benchmarks.lockhold``).
    """
    import django
    from django.conf import settings as django_settings

    django_settings.configure(
        DATABASES={"default": entry},
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "sequences",
            "tests.testapp",
        ],
        USE_TZ=True,
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        SECRET_KEY="benchmarks only",
    )
    django.setup()
