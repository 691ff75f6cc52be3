"""Helpers for the management command tests: run a command, capture what it prints."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import ManagementUtility, call_command


def call(*args: Any, **options: Any) -> tuple[str, str]:
    """``call_command`` returning (stdout, stderr)."""
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``manage.py *argv`` in this process as the shell does: (exit code, stdout, stderr).

    Django closes every connection after a command run this way, so only
    tests in autocommit mode may use it.
    """
    capsys.readouterr()
    try:
        ManagementUtility(["manage.py", *argv]).execute()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


class SequencesOnOther:
    """A router that keeps ``sequences`` (under whatever label) on the ``other`` database."""

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        return "other" if model._meta.app_label == _label() else None

    db_for_write = db_for_read

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return db == "other" if app_label == _label() else None


def _label() -> str:
    from sequences.models import Sequence

    return Sequence._meta.app_label
