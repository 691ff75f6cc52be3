"""Django settings for the benchmarks: the test settings' servers, the benchmark's own databases.

The same environment variables as ``tests/settings.py`` pick the servers
(``SEQUENCES_TEST_BACKEND``, ``PGHOST``/``PGPORT``/``PGUSER``,
``MYSQL_HOST``/``MYSQL_PORT``/``MYSQL_USER``/``MYSQL_PASSWORD``,
``SEQUENCES_TEST_SQLITE_DIR``). The database names always start with
``seq_bench`` (``SEQUENCES_BENCH_DB_PREFIX`` may lengthen it), so the harness
creates and drops only its own databases.

This module imports nothing from the project or from Django: the raw-driver
worker and the worker of the published django-sequences 3.1 (in its own
virtualenv) read it too.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

BACKEND = os.environ.get("SEQUENCES_TEST_BACKEND", "sqlite")
PREFIX = os.environ.get("SEQUENCES_BENCH_DB_PREFIX", "seq_bench")
if not PREFIX.startswith("seq_bench"):
    raise ValueError(f"SEQUENCES_BENCH_DB_PREFIX must start with 'seq_bench', got {PREFIX!r}")
SQLITE_DIR = Path(os.environ.get("SEQUENCES_TEST_SQLITE_DIR", tempfile.gettempdir()))

#: Alias -> database name suffix. ``big`` holds 1,000,000 other sequences.
SUFFIXES = {"default": "", "big": "_big"}


def database(backend: str, suffix: str) -> dict[str, Any]:
    """The Django ``DATABASES`` entry of one benchmark database."""
    name = f"{PREFIX}{suffix}"
    if backend == "postgresql":
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": os.environ.get("PGUSER", "postgres"),
            "PASSWORD": os.environ.get("PGPASSWORD", ""),
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
        }
    if backend == "mariadb":
        return {
            "ENGINE": "django.db.backends.mysql",
            "NAME": name,
            "USER": os.environ.get("MYSQL_USER", "root"),
            "PASSWORD": os.environ.get("MYSQL_PASSWORD", ""),
            "HOST": os.environ.get("MYSQL_HOST", "127.0.0.1"),
            "PORT": os.environ.get("MYSQL_PORT", "3306"),
            "OPTIONS": {"charset": "utf8mb4"},
        }
    if backend == "sqlite":
        # A file in WAL mode (set once, when the harness creates it: it
        # persists), and atomic() begins with BEGIN IMMEDIATE, as the system
        # check sequences.W101 recommends (the raw driver does the same).
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(SQLITE_DIR / f"{name}.sqlite3"),
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    raise ValueError(f"SEQUENCES_TEST_BACKEND must be sqlite, postgresql or mariadb: {backend!r}")


DATABASES = {alias: database(BACKEND, suffix) for alias, suffix in SUFFIXES.items()}

INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "sequences"]
SECRET_KEY = "not a secret: benchmarks only"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
