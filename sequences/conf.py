"""The ``SEQUENCES_*`` settings: read when first needed, cached, re-read when one changes.

Nothing is read at import time, so ``override_settings`` and settings changed
after ``django.setup()`` take effect; the cache keeps the draw path to one
dictionary lookup per setting.
"""

from __future__ import annotations

import math
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

from .validation import check_timeout

#: Every setting this app reads, with its default.
DEFAULTS: dict[str, Any] = {
    "SEQUENCES_LOCK_TIMEOUT": None,
    "SEQUENCES_REQUIRE_TRANSACTION": False,
    "SEQUENCES_REPORT_UNREPLICATED_COMMITS": True,
}

_cache: dict[str, Any] = {}


def parse_setting(name: str, value: Any) -> Any:
    """Validate one setting's value; raise ``TypeError``/``ValueError`` saying what is allowed."""
    if name == "SEQUENCES_LOCK_TIMEOUT":
        if value is None:
            return None
        seconds = check_timeout(value, name)
        # math.inf: no limit set by this app, as None.
        return None if math.isinf(seconds) else seconds
    if name in ("SEQUENCES_REQUIRE_TRANSACTION", "SEQUENCES_REPORT_UNREPLICATED_COMMITS"):
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be True or False, got {type(value).__name__}: {value!r}")
        return value
    raise KeyError(name)


def get(name: str) -> Any:
    """The parsed value of setting ``name``; ``ImproperlyConfigured`` if it is invalid."""
    try:
        return _cache[name]
    except KeyError:
        pass
    from django.conf import settings

    raw = getattr(settings, name, DEFAULTS[name])
    try:
        value = _cache[name] = parse_setting(name, raw)
    except (TypeError, ValueError) as exc:
        raise ImproperlyConfigured(str(exc)) from None
    return value


def lock_timeout() -> float | None:
    """``SEQUENCES_LOCK_TIMEOUT`` in seconds; ``None``: wait as the database does."""
    try:
        return _cache["SEQUENCES_LOCK_TIMEOUT"]  # type: ignore[no-any-return]
    except KeyError:
        return get("SEQUENCES_LOCK_TIMEOUT")  # type: ignore[no-any-return]


def require_transaction() -> bool:
    """``SEQUENCES_REQUIRE_TRANSACTION``: refuse draws outside a transaction."""
    try:
        return _cache["SEQUENCES_REQUIRE_TRANSACTION"]  # type: ignore[no-any-return]
    except KeyError:
        return get("SEQUENCES_REQUIRE_TRANSACTION")  # type: ignore[no-any-return]


def _forget(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("SEQUENCES_"):
        _cache.clear()


setting_changed.connect(_forget, dispatch_uid="sequences.conf")
