"""One benchmark worker: one or two implementations on one backend, driven over stdin/stdout.

The harness runs it as a script, ``python benchmarks/worker.py IMPL[,IMPL]``
with ``SEQUENCES_TEST_BACKEND`` set, and sends one JSON command per line; every
command gets one JSON line back. ``IMPL`` is

- ``ours``: this project's ``sequences`` through its public API, each call in
  its own ``transaction.atomic()``;
- ``django``: the Django floor, no ``sequences`` code at call time: the SQL
  and parameters that ``ours`` sends through Django's cursor for the case,
  captured once at setup with ``connection.execute_wrapper()``, replayed
  through ``connection.cursor()`` inside ``transaction.atomic()``: what any
  Django code pays for the same statement before a library adds anything.
  What ours sends outside Django's cursor, and SQLite's ``PRAGMA
  busy_timeout``, is not replayed: that is our cost;
- ``raw``: the database driver alone, no Django: ``BEGIN``, one upsert that
  returns the new value, ``COMMIT`` (the floor);
- ``v31``: the published django-sequences 3.1, run with the python of a
  throwaway virtualenv where it is installed (same import name).

A case is a dict: ``kind`` (``plain``, ``nowait``, ``timeout`` (5 s),
``reset``, ``first``: ``get_next_value``; ``batch``: ``get_next_values``), ``batch`` (values per
call), ``name`` (the sequence) and ``alias`` (``default`` or ``big``, the
database holding 1,000,000 other sequences).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Appended, not prepended: in django-sequences 3.1's virtualenv its own
# ``sequences`` (in site-packages) must win over this project's.
sys.path.append(str(ROOT))

from benchmarks import databases, settings  # noqa: E402

BACKEND = settings.BACKEND
#: reset_value of the ``reset`` case: the sequence wraps every 999 calls.
RESET_VALUE = 1000
#: ``timeout=`` of the ``timeout`` case, in seconds.
TIMEOUT = 5

Call = Callable[[], int]
Case = dict[str, Any]

_unique = itertools.count()


def first_call_names(case: Case, impl: str) -> Iterator[str]:
    """New sequence names, unique across implementations, processes and runs."""
    prefix = f"{case['name']}-{impl}-{os.getpid()}-{next(_unique)}-"
    return (f"{prefix}{i}" for i in itertools.count())


class DjangoImplementation:
    """``ours`` or ``v31``: ``sequences`` through its public API."""

    def __init__(self, name: str) -> None:
        self.name = name
        os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings"
        import django

        django.setup()
        import sequences

        source = Path(sequences.__file__).resolve()
        ours = source.is_relative_to(ROOT) and not source.is_relative_to(ROOT / ".venv")
        if ours != (name != "v31"):
            raise RuntimeError(f"{name}: imported the wrong sequences package: {source}")
        self.sequences = sequences

    def connect(self, alias: str) -> None:
        from django.db import connections

        connections[alias].ensure_connection()

    def close(self) -> None:
        from django.db import connections

        connections.close_all()

    def driver_connection(self, case: Case) -> Any:
        from django.db import connections

        connection = connections[case["alias"]]
        connection.ensure_connection()
        return connection.connection

    def open_connections(self) -> list[Any]:
        from django.db import connections

        return [c.connection for c in connections.all() if c.connection is not None]

    def make(self, case: Case, *, own_transaction: bool = True) -> Call:
        from django.db import transaction

        using = None if case["alias"] == "default" else case["alias"]
        draw: Call
        if self.name == "django":
            draw = self._make_floor(case)
        else:
            draw = self._make_draw(case, first_call_names(case, self.name))
        if not own_transaction:
            return draw
        atomic = transaction.atomic

        def call() -> int:
            with atomic(using=using):
                return draw()

        return call

    def _make_draw(self, case: Case, names: Iterator[str]) -> Call:
        """One call of ``sequences`` for ``case``, without a transaction of its own."""
        get_next_value = self.sequences.get_next_value
        get_next_values = self.sequences.get_next_values
        using = None if case["alias"] == "default" else case["alias"]
        name, kind, batch = case["name"], case["kind"], case["batch"]
        if kind == "first":

            def draw() -> int:
                return get_next_value(next(names), using=using)

        elif kind == "nowait":

            def draw() -> int:
                return get_next_value(name, nowait=True, using=using)

        elif kind == "timeout":

            def draw() -> int:
                return get_next_value(name, timeout=TIMEOUT, using=using)

        elif kind == "reset":

            def draw() -> int:
                return get_next_value(name, reset_value=RESET_VALUE, using=using)

        elif kind == "batch":

            def draw() -> int:
                return get_next_values(batch, name, using=using)[-1]

        else:

            def draw() -> int:
                return get_next_value(name, using=using)

        return draw

    def capture(self, case: Case) -> list[tuple[str, Any]]:
        """The statements one call of ours sends through Django's cursor for ``case``.

        For a first call, the parameters are a function of the new sequence's
        name. SQLite's ``PRAGMA busy_timeout`` is left out: the floor does not
        pay for it.
        """
        from django.db import connections, transaction

        connection = connections[case["alias"]]
        probe = f"{case['name']}-probe-{os.getpid()}-{next(_unique)}"
        draw = self._make_draw(case, iter([probe]))
        seen: list[tuple[str, Any]] = []

        def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            seen.append((sql, params))
            return execute(sql, params, many, context)

        with transaction.atomic(using=case["alias"]), connection.execute_wrapper(record):
            draw()
        statements = [
            (sql, _substituted(params, probe) if case["kind"] == "first" else params)
            for sql, params in seen
            if not sql.lstrip().upper().startswith("PRAGMA")
        ]
        if not statements:
            raise RuntimeError(f"{case}: ours sent no statement through Django's cursor")
        return statements

    def _make_floor(self, case: Case) -> Call:
        from django.db import connections

        connection = connections[case["alias"]]
        statements = self.capture(case)
        names = first_call_names(case, self.name) if case["kind"] == "first" else None

        def draw() -> int:
            with connection.cursor() as cursor:
                if names is None:
                    for sql, params in statements:
                        cursor.execute(sql, params)
                else:
                    name = next(names)
                    for sql, params in statements:
                        cursor.execute(sql, params(name))
                if cursor.description:
                    return int(cursor.fetchone()[0])
                return int(cursor.lastrowid)

        return draw

    @contextlib.contextmanager
    def outer_transaction(self, case: Case) -> Iterator[None]:
        from django.db import transaction

        with transaction.atomic(using=case["alias"]):
            yield

    def migrate(self) -> None:
        from django.core.management import call_command

        for alias in settings.SUFFIXES:
            call_command("migrate", database=alias, verbosity=0)

    def info(self) -> dict[str, str]:
        import django

        return {
            "django": django.get_version(),
            "sequences": str(self.sequences.__file__),
            **driver_versions(),
        }


def _substituted(params: Any, probe: str) -> Callable[[str], Any]:
    """``params`` as a function of the sequence name (``probe`` where it was)."""
    if isinstance(params, dict):
        keys = [key for key, value in params.items() if value == probe]
        return lambda name: {**params, **dict.fromkeys(keys, name)}
    items = list(params or ())
    where = [index for index, value in enumerate(items) if value == probe]
    if not where:
        raise RuntimeError(f"the first call's name {probe!r} is not among its parameters")
    kind = type(params) if isinstance(params, tuple) else list

    def build(name: str) -> Any:
        for index in where:
            items[index] = name
        return kind(items)

    return build


def driver_versions() -> dict[str, str]:
    """The database drivers importable here, by distribution name."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for dist in ("psycopg", "psycopg2-binary", "psycopg2", "mysqlclient"):
        with contextlib.suppress(PackageNotFoundError):
            found[dist.removesuffix("-binary")] = version(dist)
    return found


# The raw driver's statements, written for the benchmark (not taken from
# ``sequences``): the shortest single statement that does the work.
PG_PLAIN = (
    "INSERT INTO sequences_sequence AS s (name, last) VALUES (%s, %s) "
    "ON CONFLICT (name) DO UPDATE SET last = s.last + %s RETURNING last"
)
PG_RESET = (
    "INSERT INTO sequences_sequence AS s (name, last) VALUES (%s, %s) "
    "ON CONFLICT (name) DO UPDATE SET last = "
    "CASE WHEN s.last >= %s THEN %s ELSE s.last + %s END RETURNING last"
)
# SET LOCAL semantics (is_local = true): COMMIT restores lock_timeout.
PG_LIMITED = (
    "WITH t AS (SELECT set_config('lock_timeout', %s, true)) "
    "INSERT INTO sequences_sequence AS s (name, last) SELECT %s, %s FROM t "
    "ON CONFLICT (name) DO UPDATE SET last = s.last + %s RETURNING last"
)
MY_PLAIN = (
    "INSERT INTO sequences_sequence (name, last) VALUES (%s, LAST_INSERT_ID(%s)) "
    "ON DUPLICATE KEY UPDATE last = LAST_INSERT_ID(last + %s)"
)
MY_RESET = (
    "INSERT INTO sequences_sequence (name, last) VALUES (%s, LAST_INSERT_ID(%s)) "
    "ON DUPLICATE KEY UPDATE last = LAST_INSERT_ID(IF(last >= %s, %s, last + %s))"
)
MY_LIMITED = "SET STATEMENT innodb_lock_wait_timeout = %s FOR " + MY_PLAIN


def raw_statement(case: Case) -> tuple[str, Callable[[str], tuple[Any, ...]]]:
    """The raw driver's upsert for ``case`` and how to build its parameters from a name."""
    kind, batch = case["kind"], case["batch"]
    if BACKEND == "mariadb":
        plain, reset, limited = MY_PLAIN, MY_RESET, MY_LIMITED
        nowait, timeout = 0, TIMEOUT
    else:
        plain, reset, limited = PG_PLAIN, PG_RESET, PG_LIMITED
        nowait, timeout = "1ms", f"{TIMEOUT}s"  # type: ignore[assignment]
    if kind == "reset":
        return reset, lambda name: (name, batch, RESET_VALUE - batch, batch, batch)
    # SQLite's nowait and timeout are a connection whose busy timeout is set
    # once (RawImplementation).
    if kind in ("nowait", "timeout") and BACKEND != "sqlite":
        wait = nowait if kind == "nowait" else timeout
        return limited, lambda name: (wait, name, batch, batch)
    return plain, lambda name: (name, batch, batch)


class RawImplementation:
    """The floor: the driver alone, ``BEGIN``; upsert; ``COMMIT``."""

    name = "raw"

    def __init__(self) -> None:
        self.connections: dict[tuple[str, bool], Any] = {}

    def connect(self, alias: str) -> None:
        self._connection(alias, nowait=False)

    def _connection(self, alias: str, *, nowait: bool) -> Any:
        # SQLite has no per-statement lock timeout: nowait gets a connection of
        # its own whose busy timeout is 0, so the raw driver pays no PRAGMA per
        # call (timeout=5 uses the default connection: no contention here).
        key = (alias, nowait and BACKEND == "sqlite")
        if key not in self.connections:
            self.connections[key] = databases.connect(BACKEND, alias, timeout=0 if key[1] else 20)
        return self.connections[key]

    def close(self) -> None:
        for connection in self.connections.values():
            connection.close()
        self.connections.clear()

    def driver_connection(self, case: Case) -> Any:
        return self._connection(case["alias"], nowait=case["kind"] == "nowait")

    def open_connections(self) -> list[Any]:
        return list(self.connections.values())

    def make(self, case: Case, *, own_transaction: bool = True) -> Call:
        sql, params = raw_statement(case)
        connection = self.driver_connection(case)
        cursor = connection.cursor()
        execute = cursor.execute
        names = first_call_names(case, self.name) if case["kind"] == "first" else None
        fixed = params(case["name"])
        draw: Call
        if BACKEND == "sqlite":
            sql = sql.replace("%s", "?")

            def draw() -> int:
                args = fixed if names is None else params(next(names))
                return int(execute(sql, args).fetchone()[0])

        elif BACKEND == "postgresql":

            def draw() -> int:
                execute(sql, fixed if names is None else params(next(names)))
                return int(cursor.fetchone()[0])

        else:

            def draw() -> int:
                execute(sql, fixed if names is None else params(next(names)))
                return int(cursor.lastrowid)

        if not own_transaction:
            return draw

        # On SQLite, as Django's atomic() with transaction_mode IMMEDIATE.
        begin = "BEGIN IMMEDIATE" if BACKEND == "sqlite" else "BEGIN"

        def call() -> int:
            execute(begin)
            try:
                value = draw()
            except BaseException:
                execute("ROLLBACK")
                raise
            execute("COMMIT")
            return value

        return call

    @contextlib.contextmanager
    def outer_transaction(self, case: Case) -> Iterator[None]:
        cursor = self.driver_connection(case).cursor()
        cursor.execute("BEGIN IMMEDIATE" if BACKEND == "sqlite" else "BEGIN")
        try:
            yield
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        cursor.execute("COMMIT")


Implementation = DjangoImplementation | RawImplementation


# Statement counting, by the server or on the wire, never by Django.

_QUOTED = re.compile(r'"((?:[^"]|"")*)"')


def _keyword(sql: str) -> str:
    # libpq's trace writes a newline inside a query as the two characters "\n".
    words = sql.replace("\\n", " ").split()
    return words[0].upper() if words else "?"


def count_statements(driver_connection: Any, run: Callable[[], object]) -> Counter[str]:
    """The statements ``run`` sends, by first keyword.

    PostgreSQL: libpq's protocol trace (what goes on the wire: ``Query`` and
    ``Execute`` messages). MariaDB: the server's ``Questions`` and ``Com_*``
    session counters. SQLite: ``sqlite3``'s trace callback, called by SQLite
    for every statement it runs.
    """
    if BACKEND == "postgresql":
        return _count_postgresql(driver_connection, run)
    if BACKEND == "mariadb":
        return _count_mariadb(driver_connection, run)
    seen: list[str] = []
    driver_connection.set_trace_callback(seen.append)
    try:
        run()
    finally:
        driver_connection.set_trace_callback(None)
    return Counter(_keyword(sql) for sql in seen)


def _count_postgresql(driver_connection: Any, run: Callable[[], object]) -> Counter[str]:
    from psycopg import pq

    pgconn = driver_connection.pgconn
    fd, path = tempfile.mkstemp(prefix="seq_bench_trace")
    try:
        pgconn.trace(fd)
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            run()
        finally:
            pgconn.untrace()
        with open(path, encoding="utf-8", errors="replace") as trace:
            lines = trace.read().splitlines()
    finally:
        os.close(fd)
        os.unlink(path)
    kinds: Counter[str] = Counter()
    prepared: dict[str, str] = {}
    bound = ""
    for line in lines:
        fields = line.split("\t", 3)
        if len(fields) < 3 or fields[0] != "F":
            continue
        message, rest = fields[2], fields[3] if len(fields) > 3 else ""
        quoted = _QUOTED.findall(rest)
        if message == "Query":
            kinds[_keyword(quoted[0] if quoted else "")] += 1
        elif message == "Parse" and len(quoted) >= 2:
            prepared[quoted[0]] = _keyword(quoted[1])
        elif message == "Bind" and len(quoted) >= 2:
            bound = quoted[1]
        elif message == "Execute":
            # A statement psycopg prepared before the trace began: name unknown here.
            kinds[prepared.get(bound, "PREPARED")] += 1
    return kinds


def _mariadb_status(driver_connection: Any) -> Counter[str]:
    cursor = driver_connection.cursor()
    cursor.execute(
        "SHOW SESSION STATUS WHERE Variable_name = 'Questions' OR Variable_name LIKE 'Com\\_%'"
    )
    return Counter({name: int(value) for name, value in cursor.fetchall()})


def _count_mariadb(driver_connection: Any, run: Callable[[], object]) -> Counter[str]:
    # What reading the counters itself adds (the SHOW statement), measured.
    first = _mariadb_status(driver_connection)
    itself = _mariadb_status(driver_connection) - first
    before = _mariadb_status(driver_connection)
    run()
    after = _mariadb_status(driver_connection)
    delta = after - before - itself
    total = delta.pop("Questions", 0)
    kinds = Counter({name.removeprefix("Com_").upper(): n for name, n in delta.items() if n})
    unexplained = total - sum(kinds.values())
    if unexplained:
        kinds["OTHER"] += unexplained
    return kinds


class Worker:
    """Serves the implementations named on the command line, in this one process.

    Several share a process where their ratio is the point (ours and the
    Django floor): the same interpreter, heap, hash seed and connection, so
    that no difference between two processes (their memory layout, what their
    garbage collector has to walk) adds to the ratio. Commands that measure
    name their implementation (``"impl"``); the others apply to all.
    """

    def __init__(self, impls: dict[str, Implementation]) -> None:
        self.impls = impls
        self.impl = next(iter(impls.values()))
        self.calls: dict[str, Call] = {}
        #: Server session process or thread id -> the CPUs it could run on before.
        self.pinned: dict[int, set[int]] = {}

    def call_for(self, impl: Implementation, case: Case) -> Call:
        key = json.dumps([impl.name, case], sort_keys=True)
        if key not in self.calls:
            self.calls[key] = impl.make(case)
        return self.calls[key]

    def handle(self, command: dict[str, Any]) -> dict[str, Any]:
        op = command["op"]
        impl = self.impls[command["impl"]] if "impl" in command else self.impl
        if op == "info":
            info = impl.info() if isinstance(impl, DjangoImplementation) else driver_versions()
            return {"python": sys.version.split()[0], **info}
        if op == "migrate":
            assert isinstance(impl, DjangoImplementation)
            impl.migrate()
            return {}
        if op == "connect":
            for each in self.impls.values():
                each.connect(command["alias"])
            return {}
        if op == "pin":
            return self.pin(command["cpu"])
        if op == "close":
            self.unpin()
            for each in self.impls.values():
                each.close()
            self.calls.clear()
            return {}
        if op == "run":
            return self.run(impl, command["case"], command["n"], warm=command.get("warm", 0))
        if op == "count":
            return self.count(impl, command["case"], command["n"], inside=command["inside"])
        if op == "contend":
            return self.contend(impl, command)
        raise ValueError(f"unknown op {op!r}")

    def pin(self, cpu: int) -> dict[str, Any]:
        """Run this process, and the server sessions of its open connections, on ``cpu`` only.

        A call and its statement alternate, client then server: on one CPU they
        run as they would on two, but the scheduler no longer moves them from
        one CPU to the other, which costs some processes more than others (4%
        to 12% between two identical workers on this 2-core machine).
        Returns how many server sessions were pinned and why any was not.
        """
        os.sched_setaffinity(0, {cpu})
        sessions, missed = 0, []
        connections = {id(c): c for i in self.impls.values() for c in i.open_connections()}
        for connection in connections.values():
            try:
                ident = databases.server_thread(BACKEND, connection)
                before = os.sched_getaffinity(ident)
                os.sched_setaffinity(ident, {cpu})
            except LookupError as exc:
                if BACKEND != "sqlite":  # SQLite runs in this process: nothing to miss
                    missed.append(str(exc))
                continue
            except OSError as exc:  # not allowed: the server runs as another user
                missed.append(f"{type(exc).__name__}: {exc}")
                continue
            self.pinned.setdefault(ident, before)
            sessions += 1
        return {"sessions": sessions, "missed": missed}

    def unpin(self) -> None:
        """Give the pinned server sessions their CPUs back (MariaDB reuses its threads)."""
        for ident, cpus in self.pinned.items():
            with contextlib.suppress(OSError):
                os.sched_setaffinity(ident, cpus)
        self.pinned.clear()

    def run(self, impl: Implementation, case: Case, n: int, *, warm: int = 0) -> dict[str, Any]:
        """``n`` timed calls, after ``warm`` untimed ones."""
        call = self.call_for(impl, case)
        for _ in range(warm):
            call()
        perf_counter, process_time = time.perf_counter, time.process_time
        cpu = process_time()
        start = perf_counter()
        first = last = call()
        for _ in range(n - 1):
            last = call()
        seconds = perf_counter() - start
        return {"seconds": seconds, "cpu": process_time() - cpu, "first": first, "last": last}

    def count(self, impl: Implementation, case: Case, n: int, *, inside: bool) -> dict[str, Any]:
        driver_connection = impl.driver_connection(case)
        if not inside:
            call = impl.make(case)
            call()  # first use: one-off queries (server version ...) are not counted
            kinds = count_statements(driver_connection, lambda: [call() for _ in range(n)])
        else:
            draw = impl.make(case, own_transaction=False)
            with impl.outer_transaction(case):
                draw()  # the transaction has begun: BEGIN is not counted
                kinds = count_statements(driver_connection, lambda: [draw() for _ in range(n)])
        return {"per_call": sum(kinds.values()) / n, "kinds": dict(kinds), "n": n}

    def contend(self, impl: Implementation, command: dict[str, Any]) -> dict[str, Any]:
        case = command["case"]
        impl.connect(case["alias"])
        call = impl.make(case)
        errors: list[str] = []
        for _ in range(100):  # creates the sequence (own mode), warms the connection
            try:
                call()
                break
            except Exception as exc:  # django-sequences 3.1 on SQLite: "database is locked"
                errors.append(f"{type(exc).__name__}: {exc}")
                time.sleep(0.01)
        _reply({"ready": True})
        go = json.loads(sys.stdin.readline())
        assert go["op"] == "go", go
        time.sleep(max(0.0, go["at"] - time.time()))
        until = go["at"] + command["seconds"]
        max_calls = command["max_calls"]
        values: list[int] = []
        latencies: list[float] = []
        perf_counter, now = time.perf_counter, time.time
        cpu = time.process_time()
        start = perf_counter()
        while len(values) < max_calls and now() < until:
            t0 = perf_counter()
            try:
                value = call()
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                continue
            latencies.append(perf_counter() - t0)
            values.append(value)
        seconds = perf_counter() - start
        cpu = time.process_time() - cpu
        impl.close()
        self.calls.clear()
        return {
            "values": values,
            "latencies": latencies,
            "errors": errors,
            "seconds": seconds,
            "cpu": cpu,
        }


_out = sys.stdout


def _reply(result: dict[str, Any]) -> None:
    _out.write(json.dumps(result) + "\n")
    _out.flush()


def main() -> None:
    global _out
    names = sys.argv[1].split(",")
    # Anything printed by the code under test goes to stderr, not to the protocol.
    _out, sys.stdout = sys.stdout, sys.stderr
    worker = Worker(
        {
            name: RawImplementation() if name == "raw" else DjangoImplementation(name)
            for name in names
        }
    )
    # Ctrl-C reaches the whole process group: the harness closes its workers
    # in order instead. SIGTERM (the harness's last resort) exits through the
    # finally clause below, which gives pinned server threads their CPUs back.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(1))
    _reply({"ready": True, "impl": sys.argv[1], "pid": os.getpid()})
    try:
        while line := sys.stdin.readline():
            command = json.loads(line)
            if command["op"] == "exit":
                break
            try:
                result = worker.handle(command)
            except Exception as exc:
                result = {"error": f"{type(exc).__name__}: {exc}"}
            _reply(result)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not cut this short
        worker.unpin()
        for impl in worker.impls.values():
            impl.close()


if __name__ == "__main__":
    main()
