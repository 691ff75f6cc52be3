"""Throwaway PostgreSQL clusters and a pgbouncer, for the multi-server tests.

Everything lives in a temporary directory, listens on 127.0.0.1 on free ports,
and is stopped and removed whatever happens: by the fixtures' ``finally``, and
by ``atexit`` for a test run that is interrupted. Only processes started here
are ever signalled, by their own pid (the postmaster's, read from its pid file,
and its children). The machine's own servers are never touched.

``initdb`` and ``postgres`` refuse to run as root, and CI runs as root: then
every server command runs as the ``postgres`` OS user, which owns the files.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

PG_BIN = Path(os.environ.get("SEQUENCES_PG_BIN", "/usr/lib/postgresql/15/bin"))
PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
SERVER_USER = "postgres"

# fsync is off: a SIGKILL of server processes loses nothing that the OS page
# cache holds, and the tests never crash the machine; synchronous replication
# still waits for the standby's acknowledgement as in production.
SERVER_SETTINGS = """
listen_addresses = '127.0.0.1'
unix_socket_directories = '{sockets}'
fsync = off
full_page_writes = off
shared_buffers = 16MB
max_connections = 40
max_wal_senders = 4
wal_level = replica
synchronous_commit = on
log_min_messages = warning
"""

_live: list[Any] = []


def missing() -> str | None:
    """What this machine lacks to run the throwaway clusters, or ``None``."""
    if not (PG_BIN / "initdb").exists():
        return f"no PostgreSQL binaries in {PG_BIN} (apt-get install postgresql-15)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return f"running as root, and there is no {SERVER_USER!r} OS user to run servers as"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", SERVER_USER, "--", *command]
    return command


def run(command: list[str], *, timeout: float = 60) -> str:
    done = subprocess.run(
        as_server_user(command), capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def make_directory(owner: str = SERVER_USER) -> Path:
    """A temporary directory that ``owner`` (when running as root) may write in."""
    path = Path(tempfile.mkdtemp(prefix="multi-pg-"))
    if os.geteuid() == 0:
        entry = pwd.getpwnam(owner)
        os.chown(path, entry.pw_uid, entry.pw_gid)
    return path


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def running_pid(pid_file: Path, marker: Path) -> int | None:
    """The pid in ``pid_file``, if that process still runs with ``marker`` in its command line.

    A pid file left by a killed server may name a pid that the system has
    since given to another process: that one is never signalled.
    """
    try:
        pid = int(pid_file.read_text().split()[0])
        command = (Path("/proc") / str(pid) / "cmdline").read_bytes()
    except (OSError, ValueError, IndexError):
        return None
    return pid if str(marker).encode() in command else None


def running_postmaster(data: Path) -> int | None:
    return running_pid(data / "postmaster.pid", data)


def _kill(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


class Cluster:
    """One PostgreSQL server: ``initdb`` or a ``pg_basebackup`` of another, on a free port."""

    def __init__(self, root: Path, name: str) -> None:
        self.root = root
        self.data = root / name
        self.log = root / f"{name}.log"
        self.port = free_port()
        _live.append(self)

    @classmethod
    def primary(cls, root: Path, name: str = "primary", *, settings: str = "") -> Cluster:
        cluster = cls(root, name)
        run(
            [str(PG_BIN / "initdb"), "-D", str(cluster.data), "-U", "postgres",
             "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"],
        )  # fmt: skip
        with (cluster.data / "postgresql.conf").open("a") as conf:
            conf.write(SERVER_SETTINGS.format(sockets=root) + settings)
        cluster.start()
        return cluster

    @classmethod
    def standby_of(cls, primary: Cluster, name: str = "standby") -> Cluster:
        """A streaming standby made with ``pg_basebackup -R`` (so it copies the config)."""
        cluster = cls(primary.root, name)
        run(
            [str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port),
             "-U", "postgres", "-D", str(cluster.data), "-R", "-X", "stream",
             "--no-sync", "-c", "fast"],
        )  # fmt: skip
        cluster.start()
        return cluster

    def start(self) -> None:
        run(
            [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w",
             "-t", "30", "-o", f"-p {self.port}", "start"],
        )  # fmt: skip

    def stop(self) -> None:
        run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])

    def promote(self) -> None:
        run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w", "-t", "30", "promote"])

    def postmaster_pid(self) -> int | None:
        return running_postmaster(self.data)

    def kill(self) -> None:
        """SIGKILL the postmaster and every one of its processes, as a crashed machine."""
        pid = self.postmaster_pid()
        if pid is None:
            return
        _kill([pid, *_children(pid)])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (Path("/proc") / str(pid)).exists():
            time.sleep(0.01)

    def connect(self, dbname: str = "postgres", **options: Any) -> Any:
        import psycopg

        return psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=dbname,
            autocommit=True, connect_timeout=5, **options,
        )  # fmt: skip

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with self.connect() as connection:
            cursor = connection.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def destroy(self) -> None:
        if self.data.exists() and self.postmaster_pid():
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
                    timeout=20)  # fmt: skip
            self.kill()  # whatever did not stop
        if self in _live:
            _live.remove(self)


class Bouncer:
    """pgbouncer in transaction pooling mode, in front of ``cluster``."""

    def __init__(self, cluster: Cluster, *, pool_size: int = 4) -> None:
        self.root = cluster.root
        self.port = free_port()
        self.config = self.root / "pgbouncer.ini"
        self.config.write_text(
            "[databases]\n"
            f"* = host=127.0.0.1 port={cluster.port} user=postgres\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {self.port}\n"
            f"unix_socket_dir = {self.root}\n"
            "auth_type = any\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {pool_size}\n"
            "max_client_conn = 200\n"
            f"logfile = {self.root / 'pgbouncer.log'}\n"
            f"pidfile = {self.root / 'pgbouncer.pid'}\n"
            "server_reset_query = DISCARD ALL\n"
        )
        if os.geteuid() == 0:
            entry = pwd.getpwnam(SERVER_USER)
            os.chown(self.config, entry.pw_uid, entry.pw_gid)
        _live.append(self)
        run([PGBOUNCER, "-d", str(self.config)])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"pgbouncer did not start: {self.root / 'pgbouncer.log'}")

    def destroy(self) -> None:
        pid = running_pid(self.root / "pgbouncer.pid", self.config)
        if pid is not None:
            _kill([pid])
        if self in _live:
            _live.remove(self)


def remove(root: Path) -> None:
    """Stop whatever still runs under ``root`` and delete it."""
    for thing in [t for t in _live if t.root == root]:
        thing.destroy()
    shutil.rmtree(root, ignore_errors=True)


@atexit.register
def _stragglers() -> None:
    for root in {thing.root for thing in _live}:
        remove(root)
