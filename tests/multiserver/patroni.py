"""A throwaway Patroni cluster: one etcd, three PostgreSQL nodes, synchronous mode.

Debian's ``patroni`` and ``etcd-server``; every port a free one on
127.0.0.1, every file in a temporary directory, run as the ``postgres`` OS
user when running as root. ``synchronous_mode`` and
``synchronous_mode_strict`` are on: the safe setting that
``docs/multi-server.md`` recommends. Stopped and removed like the other
throwaway servers (:func:`tests.multiserver.cluster.remove`).
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from . import cluster

NODE_SETTINGS = """\
scope: multi
name: {name}
log:
  level: WARNING
restapi:
  listen: 127.0.0.1:{rest}
  connect_address: 127.0.0.1:{rest}
etcd3:
  hosts: 127.0.0.1:{etcd}
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 1
    retry_timeout: 3
    synchronous_mode: true
    synchronous_mode_strict: true
    postgresql:
      use_pg_rewind: true
      remove_data_directory_on_rewind_failure: true
      remove_data_directory_on_diverged_timelines: true
      parameters:
        synchronous_commit: "on"
        wal_log_hints: "on"
        fsync: "off"
        shared_buffers: 16MB
        max_connections: 40
        max_wal_senders: 6
        max_replication_slots: 6
  initdb:
  - encoding: UTF8
  - locale: C.UTF-8
  - auth: trust
postgresql:
  listen: 127.0.0.1:{port}
  connect_address: 127.0.0.1:{port}
  data_dir: {data}
  bin_dir: {bin}
  pgpass: {root}/{name}.pgpass
  pg_hba:
  - local all all trust
  - host all all 127.0.0.1/32 trust
  - host replication all 127.0.0.1/32 trust
  authentication:
    superuser:
      username: postgres
    replication:
      username: postgres
  parameters:
    unix_socket_directories: '{root}'
"""


def missing() -> str | None:
    """What this machine lacks to run Patroni, or ``None``."""
    for program, package in (("patroni", "patroni"), ("etcd", "etcd-server")):
        if shutil.which(program) is None:
            return f"{package} is not installed (apt-get install patroni etcd-server)"
    return cluster.missing()


def _chown(path: Path) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam(cluster.SERVER_USER)
        os.chown(path, entry.pw_uid, entry.pw_gid)


class Process:
    """A long-running program started here, killed by its own pid and its children's."""

    def __init__(self, root: Path, command: list[str], log: Path) -> None:
        self.root = root
        with log.open("ab") as out:
            self.popen = subprocess.Popen(
                cluster.as_server_user(command), stdout=out, stderr=subprocess.STDOUT
            )
        cluster._live.append(self)

    def tree(self) -> list[int]:
        found, queue = [], [self.popen.pid]
        while queue:
            pid = queue.pop()
            found.append(pid)
            queue.extend(cluster._children(pid))
        return found

    def kill(self) -> None:
        cluster._kill(self.tree())
        self.popen.wait(10)

    def destroy(self) -> None:
        if self.popen.poll() is None:
            self.kill()
        if self in cluster._live:
            cluster._live.remove(self)


class Node:
    """One Patroni node and the PostgreSQL server it manages."""

    def __init__(self, root: Path, name: str, etcd_port: int) -> None:
        self.root = root
        self.name = name
        self.port = cluster.free_port()
        self.rest = cluster.free_port()
        self.data = root / name
        self.config = root / f"{name}.yml"
        self.config.write_text(
            NODE_SETTINGS.format(
                name=name, rest=self.rest, etcd=etcd_port, port=self.port,
                data=self.data, bin=cluster.PG_BIN, root=root,
            )
        )  # fmt: skip
        _chown(self.config)
        self.process = Process(root, ["patroni", str(self.config)], root / f"{name}.log")
        cluster._live.append(self)

    def state(self) -> dict[str, Any]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.rest}/patroni", timeout=2) as r:
                result: dict[str, Any] = json.load(r)
                return result
        except Exception:
            return {}

    def kill(self) -> None:
        """SIGKILL Patroni and every PostgreSQL process, as a crashed machine.

        Patroni starts the postmaster detached (its parent is init): it is
        found by its pid file.
        """
        postmaster = cluster.running_postmaster(self.data)
        if self.process.popen.poll() is None:
            self.process.kill()
        if postmaster:
            cluster._kill([postmaster, *cluster._children(postmaster)])

    def destroy(self) -> None:
        self.kill()
        self.process.destroy()
        if self in cluster._live:
            cluster._live.remove(self)


def start_cluster(root: Path, size: int = 3, timeout: float = 90) -> list[Node]:
    """etcd, then the nodes; returns once one leads and another is its sync standby."""
    client, peer = cluster.free_port(), cluster.free_port()
    etcd_data = root / "etcd"
    etcd_data.mkdir()
    _chown(etcd_data)
    Process(
        root,
        ["etcd", "--name", "multi", "--data-dir", str(etcd_data),
         "--listen-client-urls", f"http://127.0.0.1:{client}",
         "--advertise-client-urls", f"http://127.0.0.1:{client}",
         "--listen-peer-urls", f"http://127.0.0.1:{peer}",
         "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
         "--initial-cluster", f"multi=http://127.0.0.1:{peer}"],
        root / "etcd.log",
    )  # fmt: skip
    nodes = [Node(root, "node1", client)]
    wait_for(lambda: nodes[0].state().get("role") == "master", "node1 did not lead", timeout)
    nodes += [Node(root, f"node{n}", client) for n in range(2, size + 1)]
    wait_for(
        lambda: (
            all(n.state().get("state") == "running" for n in nodes)
            and sum(n.state().get("sync_standby", False) for n in nodes) == 1
        ),
        "the replicas did not start streaming",
        timeout,
    )
    return nodes


def wait_for(condition: Any, message: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(message)
        time.sleep(0.2)
