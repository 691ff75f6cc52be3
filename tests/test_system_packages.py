""".ci/system-packages: what `make test` installs on a fresh machine, and what it says.

The script runs for real, with a ``PATH`` of stand-in tools: an ``apt-get``
that records its calls instead of installing, an ``id`` that says who we are,
and ``pkg-config``, ``msgfmt`` and ``xgettext`` present or absent.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / ".ci" / "system-packages"
BASH = shutil.which("bash") or "/bin/bash"


def tool(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text(f"#!{BASH}\n{body}\n")
    path.chmod(0o755)


class Machine:
    """A PATH with the tools given, and a log of the apt-get calls."""

    def __init__(self, directory: Path) -> None:
        self.bin = directory / "bin"
        self.bin.mkdir()
        self.log = directory / "apt-get.log"
        self.chromium = "/nonexistent/chromium"
        self.uid = 0
        tool(self.bin, "apt-get", f'echo "$*" >> {self.log}')

    def has(self, *names: str) -> None:
        for name in names:
            if name == "chromium":
                tool(self.bin, "chromium", "exit 0")
                self.chromium = str(self.bin / "chromium")
            elif name == "mariadb-headers":
                tool(self.bin, "pkg-config", '[ "$2" = libmariadb ]')
            else:
                tool(self.bin, name, "exit 0")

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        tool(self.bin, "id", f"echo {self.uid}")
        environment = {"PATH": str(self.bin), "SEQUENCES_TEST_CHROMIUM": self.chromium, **env}
        return subprocess.run(
            [BASH, str(SCRIPT), *args],
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def apt_calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


@pytest.fixture
def machine(tmp_path: Path) -> Machine:
    return Machine(tmp_path)


def test_nothing_missing_runs_no_apt_get_and_says_nothing(machine):
    machine.has("chromium", "mariadb-headers", "msgfmt", "xgettext")

    result = machine.run()

    assert (result.returncode, result.stdout, machine.apt_calls()) == (0, "", [])


def test_as_root_installs_only_what_is_missing_after_one_update(machine):
    machine.has("mariadb-headers", "msgfmt")  # no Chromium, no xgettext

    result = machine.run()

    assert result.returncode == 0, result.stdout + result.stderr
    assert machine.apt_calls() == ["update -qq", "install -y -qq chromium gettext"]
    assert result.stdout == "Installing system packages: chromium gettext\n"


def test_turned_off_it_installs_nothing_and_says_one_line_per_part(machine):
    result = machine.run(SEQUENCES_SYSTEM_PACKAGES="0")

    assert result.returncode == 0
    assert machine.apt_calls() == []
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("*** Skipping the MariaDB tests")
    assert lines[0].endswith(
        "SEQUENCES_SYSTEM_PACKAGES=0; enable with: apt-get install -y pkg-config libmariadb-dev"
    )
    assert lines[1].startswith("*** Skipping the browser tests")
    assert lines[1].endswith("enable with: apt-get install -y chromium")
    assert lines[2].startswith("*** Skipping the translation checks")
    assert lines[2].endswith("enable with: apt-get install -y gettext")


def test_not_root_it_names_the_sudo_command(machine):
    machine.uid = 1000
    machine.has("mariadb-headers", "msgfmt", "xgettext")

    result = machine.run()

    assert machine.apt_calls() == []
    assert result.stdout == (
        "*** Skipping the browser tests (Playwright drives Debian's Chromium): not root; "
        "enable with: sudo apt-get install -y chromium\n"
    )


def test_a_failed_install_is_said_and_skipped_locally_and_fails_in_ci(machine):
    machine.has("mariadb-headers", "msgfmt", "xgettext")
    tool(machine.bin, "apt-get", f'echo "$*" >> {machine.log}; [ "$1" = update ]')

    local = machine.run()
    ci = machine.run(CI="true")

    assert local.returncode == 0
    assert "browser tests (Playwright drives Debian's Chromium): apt-get install failed" in (
        local.stdout
    )
    assert ci.returncode == 1
    assert "CI=true: every part is required here." in ci.stdout


def test_in_ci_a_part_turned_off_and_missing_fails(machine):
    machine.has("chromium", "msgfmt", "xgettext")

    result = machine.run(SEQUENCES_SYSTEM_PACKAGES="0", CI="true")

    assert result.returncode == 1
    assert result.stdout.startswith("*** Skipping the MariaDB tests")


@pytest.mark.parametrize(
    ("present", "env", "found"),
    [
        ([], {}, False),
        (["mariadb-headers"], {}, True),
        ([], {"MYSQLCLIENT_CFLAGS": "-I/x", "MYSQLCLIENT_LDFLAGS": "-lx"}, True),
    ],
)
def test_mariadb_headers_answers_what_mysqlclient_would_find(machine, present, env, found):
    machine.has(*present)

    result = machine.run("--mariadb-headers", **env)

    assert (result.returncode == 0) is found
    assert result.stdout == ""


def test_debian_packages_by_name_install_what_is_missing_and_follow_the_same_rules(machine):
    # dpkg knows pgbouncer only; postgresql-15 is missing.
    tool(machine.bin, "dpkg", '[ "$2" = pgbouncer ]')

    installed = machine.run("--debian", "postgresql-15 pgbouncer", "the failover tests")
    turned_off = machine.run(
        "--debian", "postgresql-15 pgbouncer", "the failover tests", SEQUENCES_SYSTEM_PACKAGES="0"
    )
    in_ci = machine.run(
        "--debian", "postgresql-15", "the failover tests", SEQUENCES_SYSTEM_PACKAGES="0", CI="true"
    )
    nothing_missing = machine.run("--debian", "pgbouncer", "the failover tests")

    assert installed.returncode == 0
    assert machine.apt_calls() == ["update -qq", "install -y -qq postgresql-15"]
    assert turned_off.returncode == 0
    assert turned_off.stdout == (
        "*** Skipping the failover tests: SEQUENCES_SYSTEM_PACKAGES=0; "
        "enable with: apt-get install -y postgresql-15\n"
    )
    assert in_ci.returncode == 1
    assert (nothing_missing.returncode, nothing_missing.stdout) == (0, "")
