"""Test settings: two aliases (``default`` and ``other``) on one backend.

``SEQUENCES_TEST_BACKEND`` picks the backend: ``sqlite`` (default),
``postgresql`` or ``mariadb``. Servers are the machine's own (see docs/development.md);
``SEQUENCES_TEST_DB_PREFIX`` keeps parallel runs apart.

``SEQUENCES_TEST_RELABELLED=1`` installs ``sequences`` under another label
(``tests.relabelled.RelabelledSequencesConfig``, label ``gapless``) and
leaves out the demo app, whose migrations name the ``sequences`` label as a
project's own migrations do; ``tests/test_relabelled.py`` runs the admin,
command and migration tests that way.
"""

import os
from pathlib import Path

BACKEND = os.environ.get("SEQUENCES_TEST_BACKEND", "sqlite")
PREFIX = os.environ.get("SEQUENCES_TEST_DB_PREFIX", "sequences")
SQLITE_DIR = Path(
    os.environ.get(
        "SEQUENCES_TEST_SQLITE_DIR", Path(__file__).resolve().parent.parent / ".test-db"
    )
)
SQLITE_DIR.mkdir(exist_ok=True)
RELABELLED = os.environ.get("SEQUENCES_TEST_RELABELLED") == "1"


def database(suffix: str) -> dict[str, object]:
    name = f"{PREFIX}{suffix}"
    if BACKEND == "postgresql":
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": os.environ.get("PGUSER", "postgres"),
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
            "TEST": {"NAME": f"test_{name}"},
        }
    if BACKEND == "mariadb":
        return {
            "ENGINE": "django.db.backends.mysql",
            "NAME": name,
            "USER": os.environ.get("MYSQL_USER", "root"),
            "PASSWORD": os.environ.get("MYSQL_PASSWORD", ""),
            "HOST": os.environ.get("MYSQL_HOST", "127.0.0.1"),
            "PORT": os.environ.get("MYSQL_PORT", "3306"),
            "TEST": {"NAME": f"test_{name}", "CHARSET": "utf8mb4"},
            "OPTIONS": {"charset": "utf8mb4"},
        }
    if BACKEND == "sqlite":
        # A file, not :memory:, so that threads and processes share it.
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(SQLITE_DIR / f"{name}.sqlite3"),
            "TEST": {"NAME": str(SQLITE_DIR / f"test_{name}.sqlite3")},
            "OPTIONS": {"timeout": 20},
        }
    raise ValueError(f"SEQUENCES_TEST_BACKEND must be sqlite, postgresql or mariadb: {BACKEND!r}")


DATABASES = {"default": database(""), "other": database("_other")}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.messages",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "tests.relabelled.RelabelledSequencesConfig" if RELABELLED else "sequences",
    "sequences_admin",
    "tests.testapp",
    *([] if RELABELLED else ["demo.billing"]),
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

ROOT_URLCONF = "tests.urls"
SECRET_KEY = "not a secret: tests only"
USE_TZ = True
STATIC_URL = "/static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
