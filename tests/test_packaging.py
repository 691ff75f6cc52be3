"""The distribution: its version, and the warning about the published django-sequences.

The metadata in these tests is real: distribution folders written to a
temporary directory put on ``sys.path``, found by ``importlib.metadata`` as
pip's own would be.
"""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

import sequences
from sequences.checks import PACKAGE_DIR

ROOT = Path(__file__).resolve().parent.parent
PUBLISHED_FILES = ["sequences/__init__.py", "sequences/apps.py", "sequences/models.py"]


def write_metadata(
    directory: Path,
    *,
    version: str,
    top_level: list[str],
    files: list[str] = PUBLISHED_FILES,
    direct_url: str | None = None,
    egg_info: bool = False,
) -> Path:
    """A ``django-sequences`` distribution's metadata, as pip or setuptools writes it."""
    if egg_info:
        folder = directory / "django_sequences.egg-info"
        folder.mkdir(parents=True)
        (folder / "PKG-INFO").write_text(
            f"Metadata-Version: 2.1\nName: django-sequences\nVersion: {version}\n"
        )
        (folder / "SOURCES.txt").write_text("".join(f"{file}\n" for file in files))
    else:
        folder = directory / f"django_sequences-{version}.dist-info"
        folder.mkdir(parents=True)
        (folder / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: django-sequences\nVersion: {version}\n"
        )
        (folder / "RECORD").write_text("".join(f"{file},,\n" for file in files))
        if direct_url is not None:
            (folder / "direct_url.json").write_text(direct_url)
    (folder / "top_level.txt").write_text("".join(f"{name}\n" for name in top_level))
    return folder


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An extra site directory on ``sys.path`` for the length of one test."""
    directory = tmp_path / "site-packages"
    directory.mkdir()
    monkeypatch.syspath_prepend(str(directory))
    return directory


def installation_warnings() -> list[checks.CheckMessage]:
    return [
        message
        for message in checks.run_checks(tags=[checks.Tags.compatibility])
        if message.id == "sequences.W010"
    ]


def test_version_is_a_final_release_that_the_metadata_agrees_with():
    assert re.fullmatch(r"\d+\.\d+\.\d+", sequences.__version__)
    assert metadata.version("django-gapless-sequences") == sequences.__version__


def test_pip_show_gives_the_package_version():
    result = subprocess.run(
        [sys.executable, "-m", "pip", "show", "django-gapless-sequences"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert f"\nVersion: {sequences.__version__}\n" in result.stdout


def test_no_warning_without_the_published_distribution():
    assert installation_warnings() == []


def test_the_published_distribution_beside_this_one_is_reported(site):
    write_metadata(site, version="3.1", top_level=["sequences"])

    [warning] = installation_warnings()

    assert warning.level == checks.WARNING
    assert "The published django-sequences 3.1 is installed" in warning.msg
    assert str(site) in warning.msg
    assert "pip uninstall django-sequences" in (warning.hint or "")
    with pytest.raises(SystemCheckError, match=r"sequences\.W010"):
        call_command("check", fail_level="WARNING")


def test_the_published_distribution_is_reported_even_when_its_files_are_this_package(site):
    # pip installed this project over 3.1 (or 3.1 over it): 3.1's file list
    # resolves to the very files running this check, and it must still be reported.
    (site / "sequences").symlink_to(PACKAGE_DIR)
    write_metadata(site, version="3.1", top_level=["sequences"])
    assert (site / PUBLISHED_FILES[0]).resolve() == PACKAGE_DIR / "__init__.py"

    assert [w.id for w in installation_warnings()] == ["sequences.W010"]


def test_a_stale_editable_install_of_the_old_name_is_not_reported(site):
    write_metadata(
        site,
        version="4.0.dev0",
        top_level=["sequences"],
        files=["__editable___django_sequences_4_0_dev0_finder.py"],
        direct_url=f'{{"dir_info": {{"editable": true}}, "url": "{PACKAGE_DIR.parent.as_uri()}"}}',
    )

    assert installation_warnings() == []


def test_an_editable_install_of_another_directory_is_reported(site, tmp_path):
    other = tmp_path / "django-sequences-checkout"
    (other / "sequences").mkdir(parents=True)
    write_metadata(
        site,
        version="3.1",
        top_level=["sequences"],
        files=["__editable___django_sequences_3_1_finder.py"],
        direct_url=f'{{"dir_info": {{"editable": true}}, "url": "{other.as_uri()}"}}',
    )

    assert [w.id for w in installation_warnings()] == ["sequences.W010"]


def test_a_stale_egg_info_of_the_old_name_is_not_reported(site):
    write_metadata(
        site,
        version="4.0.dev0",
        top_level=["sequences", "sequences_admin"],
        files=["pyproject.toml", "sequences/__init__.py", "sequences_admin/__init__.py"],
        egg_info=True,
    )
    assert [d.version for d in metadata.distributions(name="django-sequences")] == ["4.0.dev0"]

    assert installation_warnings() == []


def test_a_published_egg_info_is_reported(site):
    write_metadata(site, version="2.9", top_level=["sequences"], egg_info=True)

    [warning] = installation_warnings()

    assert "The published django-sequences 2.9 is installed" in warning.msg


@pytest.mark.parametrize(
    "direct_url",
    [
        "{not json",
        "[]",
        f'{{"dir_info": {{}}, "url": "{PACKAGE_DIR.parent.as_uri()}"}}',
        '{"vcs_info": {"vcs": "git"}, "url": "https://example.invalid/django-sequences.git"}',
    ],
    ids=["malformed", "not-an-object", "not-editable", "from-vcs"],
)
def test_a_direct_url_that_is_no_editable_install_here_is_reported(site, direct_url):
    write_metadata(site, version="3.1", top_level=["sequences"], direct_url=direct_url)

    assert [w.id for w in installation_warnings()] == ["sequences.W010"]
