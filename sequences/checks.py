"""System checks of the installation itself (``sequences.W0xx``)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from django.apps import AppConfig
from django.core import checks

#: The published library, whose distribution installs a ``sequences/`` folder too.
PUBLISHED_DISTRIBUTION = "django-sequences"
#: This project's distribution.
DISTRIBUTION = "django-gapless-sequences"
#: The folder of the ``sequences`` package running this check.
PACKAGE_DIR = Path(__file__).resolve().parent
#: Only this project ships it: metadata that names it is this project under its old name.
OWN_ONLY_PACKAGE = "sequences_admin"

CONFLICT_HINT = (
    f"Run `pip uninstall {PUBLISHED_DISTRIBUTION}`, then reinstall {DISTRIBUTION} "
    "(`pip install --force-reinstall ...`): uninstalling either distribution deletes files "
    "of the other."
)


def check_published_distribution(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Warn when the published ``django-sequences`` is installed in this environment.

    Both distributions install a ``sequences/`` folder, so whichever was
    installed last overwrote the other's files, and uninstalling either one
    deletes files the other needs. Metadata of ``django-sequences`` that is this
    project under its old name (an editable install of this source, or an
    ``*.egg-info`` naming ``sequences_admin``) does not count.
    """
    return [
        checks.Warning(
            f"The published {PUBLISHED_DISTRIBUTION} {dist.version} is installed "
            f"({dist.locate_file('')}) as well as {DISTRIBUTION}: both install a "
            "sequences/ package, so each overwrites the other's files.",
            hint=CONFLICT_HINT,
            id="sequences.W010",
        )
        for dist in published_distributions()
    ]


def published_distributions() -> list[metadata.Distribution]:
    """The installed ``django-sequences`` distributions that are not this project."""
    found = metadata.distributions(name=PUBLISHED_DISTRIBUTION)
    return [dist for dist in found if not is_this_project(dist)]


def is_this_project(dist: metadata.Distribution) -> bool:
    """Whether ``dist`` is this project's own metadata under the old name.

    Two signs, either enough: it is an editable install of the directory that
    holds the running ``sequences`` package; or it lists ``sequences_admin``,
    which no release of the published library has shipped. A file list that
    merely resolves to the running package proves nothing: a published 3.1
    installed over by this project (or under it) lists the same paths.
    """
    editable_dir = editable_directory(dist)
    if editable_dir is not None and (editable_dir / "sequences").resolve() == PACKAGE_DIR:
        return True
    return OWN_ONLY_PACKAGE in top_level_names(dist)


def editable_directory(dist: metadata.Distribution) -> Path | None:
    """The local directory of an editable install (PEP 610 ``direct_url.json``), if any."""
    try:
        direct_url = json.loads(dist.read_text("direct_url.json") or "null")
    except ValueError:
        return None
    if not isinstance(direct_url, dict):
        return None
    dir_info = direct_url.get("dir_info")
    url = urlparse(str(direct_url.get("url", "")))
    if not (isinstance(dir_info, dict) and dir_info.get("editable")) or url.scheme != "file":
        return None
    return Path(unquote(url.path))


def top_level_names(dist: metadata.Distribution) -> set[str]:
    """The top-level packages a distribution declares or lists among its files."""
    names = set((dist.read_text("top_level.txt") or "").split())
    files: Iterable[Any] = dist.files or ()
    names.update(Path(str(file)).parts[0] for file in files if str(file))
    return names
