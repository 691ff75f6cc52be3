"""A throwaway MariaDB Galera cluster of three nodes, for the Galera tests.

Debian's ``mariadbd`` with the provider of its ``galera-4`` package, state
transfer by ``rsync``; every port (client, group communication, IST, SST) is
a free one on 127.0.0.1, every file in a temporary directory. As root the
servers run as the ``mysql`` OS user. Stopped and removed like the
PostgreSQL clusters (:func:`tests.multiserver.cluster.remove`).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from . import cluster

PROVIDER = next(
    (
        p
        for p in ("/usr/lib/galera/libgalera_smm.so", "/usr/lib/libgalera_smm.so")
        if Path(p).exists()
    ),
    "/usr/lib/galera/libgalera_smm.so",
)
SERVER_USER = "mysql"

NODE_SETTINGS = """[mysqld]
datadir = {data}
socket = {root}/{name}.sock
pid-file = {root}/{name}.pid
log-error = {root}/{name}.err
port = {port}
bind-address = 127.0.0.1
innodb_buffer_pool_size = 24M
innodb_log_file_size = 8M
innodb_flush_log_at_trx_commit = 2
binlog_format = ROW
default_storage_engine = InnoDB
innodb_autoinc_lock_mode = 2
character-set-server = utf8mb4
wsrep_on = ON
wsrep_provider = {provider}
wsrep_cluster_name = multi
wsrep_cluster_address = gcomm://{members}
wsrep_node_name = {name}
wsrep_node_address = 127.0.0.1:{gcomm}
wsrep_node_incoming_address = 127.0.0.1:{port}
wsrep_provider_options = "base_port={gcomm};ist.recv_addr=127.0.0.1:{ist};gcache.size=16M"
wsrep_sst_method = rsync
wsrep_sst_receive_address = 127.0.0.1:{sst}
"""


def missing() -> str | None:
    """What this machine lacks to run a Galera cluster, or ``None``."""
    for path, package in (
        (shutil.which("mariadbd"), "mariadb-server"),
        (shutil.which("mariadb-install-db"), "mariadb-server"),
        (shutil.which("rsync"), "rsync"),
        (PROVIDER if Path(PROVIDER).exists() else None, "galera-4"),
    ):
        if path is None:
            return f"{package} is not installed (apt-get install galera-4 rsync mariadb-server)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return f"running as root, and there is no {SERVER_USER!r} OS user to run servers as"
    return None


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", SERVER_USER, "--", *command]
    return command


class Node:
    """One ``mariadbd`` of the cluster."""

    def __init__(self, root: Path, name: str, members: str, ports: dict[str, int]) -> None:
        self.root = root
        self.name = name
        self.data = root / name
        self.port = ports["port"]
        self.config = root / f"{name}.cnf"
        self.config.write_text(
            NODE_SETTINGS.format(
                data=self.data, root=root, name=name, provider=PROVIDER, members=members, **ports
            )
        )
        self.data.mkdir()
        if os.geteuid() == 0:
            entry = pwd.getpwnam(SERVER_USER)
            for path in (self.data, self.config):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self.process: subprocess.Popen[bytes] | None = None
        cluster._live.append(self)

    def install(self) -> None:
        subprocess.run(
            _as_server_user(
                ["mariadb-install-db", f"--defaults-file={self.config}",
                 "--auth-root-authentication-method=normal", "--skip-test-db"]
            ),
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip

    def start(self, *, bootstrap: bool = False) -> None:
        command = ["mariadbd", f"--defaults-file={self.config}"]
        if bootstrap:
            command.append("--wsrep-new-cluster")
        self.process = subprocess.Popen(
            _as_server_user(command), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def pid(self) -> int | None:
        return cluster.running_pid(self.root / f"{self.name}.pid", self.config)

    def kill(self) -> None:
        """SIGKILL the server (and the rsync it may run), as a crashed machine."""
        pid = self.pid()
        pids = [pid, *cluster._children(pid)] if pid else []
        alive = self.process is not None and self.process.poll() is None
        if alive:
            pids.append(self.process.pid)  # type: ignore[union-attr]  # runuser, or mariadbd
        cluster._kill(pids)
        if alive:
            self.process.wait(10)  # type: ignore[union-attr]

    def connect(self) -> Any:
        import MySQLdb

        return MySQLdb.connect(
            host="127.0.0.1", port=self.port, user="root", password="", connect_timeout=3,
            autocommit=True,
        )  # fmt: skip

    def status(self, variable: str) -> str | None:
        try:
            connection = self.connect()
        except Exception:
            return None
        try:
            cursor = connection.cursor()
            cursor.execute("SHOW STATUS LIKE %s", [variable])
            row = cursor.fetchone()
            return None if row is None else str(row[1])
        finally:
            connection.close()

    def wait_synced(self, size: int, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.status("wsrep_local_state_comment") == "Synced" and self.status(
                "wsrep_cluster_size"
            ) == str(size):
                return
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: see {self.root / (self.name + '.err')}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{self.name} did not join: see {self.root / (self.name + '.err')}"
                )
            time.sleep(0.2)

    def destroy(self) -> None:
        self.kill()
        if self in cluster._live:
            cluster._live.remove(self)


def start_cluster(root: Path, size: int = 3) -> list[Node]:
    """Bootstrap the first node, join the others by rsync state transfer."""
    ports = [
        {key: cluster.free_port() for key in ("port", "gcomm", "ist", "sst")} for _ in range(size)
    ]
    members = ",".join(f"127.0.0.1:{p['gcomm']}" for p in ports)
    nodes = [Node(root, f"node{n + 1}", members, ports[n]) for n in range(size)]
    nodes[0].install()
    nodes[0].start(bootstrap=True)
    nodes[0].wait_synced(1)
    for count, node in enumerate(nodes[1:], start=2):
        node.start()
        node.wait_synced(count)
    return nodes
