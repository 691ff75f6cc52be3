"""Settings of the demo project.

Everything that differs between machines comes from the environment:
``DATABASE_URL``, ``SECRET_KEY``, ``DEBUG`` and ``ALLOWED_HOSTS``. The defaults
make ``make demo`` work on a fresh clone and are for development only.
"""

from __future__ import annotations

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

DEMO_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# Dangerous: DEBUG defaults to on, which shows tracebacks and settings to
# anyone who can reach the site. Set DEBUG=false anywhere but your own machine.
DEBUG = env.bool("DEBUG", default=True)

# Dangerous: this default key is public (it is in the repository); anyone can
# forge sessions and password-reset links with it. It is refused when DEBUG is
# off: set SECRET_KEY to a long random value outside development.
_DEVELOPMENT_SECRET_KEY = "django-insecure: demo key, development only"
SECRET_KEY = env.str("SECRET_KEY", default=_DEVELOPMENT_SECRET_KEY)
if not DEBUG and SECRET_KEY == _DEVELOPMENT_SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set in the environment when DEBUG is off.")

# Dangerous only if widened carelessly: the default accepts local requests alone.
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])

# An embedded SQLite file by default (demo/db.sqlite3, ignored by git).
# DATABASE_URL=postgres://user@host:5432/name or mysql://user@host:3306/name
# runs the same demo on PostgreSQL or MariaDB.
DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{DEMO_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for the write lock rather than fail when two requests write at once:
    # IMMEDIATE takes it at BEGIN (for up to "timeout" seconds), so a request
    # that has read never fails when it starts writing (check sequences.W101).
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options.setdefault("timeout", 20)
    options.setdefault("transaction_mode", "IMMEDIATE")
elif DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("charset", "utf8mb4")

# Strict mode: a sequence value drawn outside transaction.atomic() raises
# sequences.OutsideTransaction instead of being consumed at once.
SEQUENCES_REQUIRE_TRANSACTION = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.messages",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "sequences",
    "sequences_admin",
    "demo.billing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "demo.demoproject.urls"

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

WSGI_APPLICATION = "demo.demoproject.wsgi.application"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "admin:login"
