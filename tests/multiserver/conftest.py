"""Fixtures for the multi-server tests: throwaway servers and Django aliases on them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

from . import cluster
from .aliases import remove_alias


@pytest.fixture
def server_root(django_db_blocker: Any) -> Iterator[Path]:
    """A temporary directory for throwaway servers, all stopped and removed afterwards.

    Database access is unblocked: these tests connect to servers of their own,
    not to the test databases that pytest-django manages.
    """
    reason = cluster.missing()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"The multi-server tests must run in CI, but {reason}.")
        pytest.skip(reason)
    root = cluster.make_directory()
    try:
        with django_db_blocker.unblock():
            yield root
    finally:
        for alias in [a for a in connections.settings if a.startswith("multi_")]:
            remove_alias(alias)
        cluster.remove(root)
