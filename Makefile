# The two commands a newcomer needs: `make demo` and `make test`.
# Everything installs into .venv (created on first use) from pyproject.toml.

PYTHON ?= $(shell command -v python3.11 >/dev/null 2>&1 && echo python3.11 || echo python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# A second Python/Django pair: the newest Django 6.x on Python 3.13 (or 3.12),
# with psycopg2 as the only PostgreSQL driver so that both drivers are tested.
NEW_VENV := .venv-django6
NEW_PYTHON ?= $(shell for v in 3.13 3.12; do \
	  p=$$(ls -d /root/.pyenv/versions/$$v*/bin/python$$v 2>/dev/null | tail -n 1); \
	  [ -n "$$p" ] && { echo $$p; exit; }; \
	  command -v python$$v >/dev/null 2>&1 && python$$v -c '' 2>/dev/null && { echo python$$v; exit; }; \
	done)

# The demo: DATABASE_URL picks its database (default: the SQLite file demo/db.sqlite3).
PORT ?= 8000
DEMO := $(BIN)/python demo/manage.py

.PHONY: help install test test-django6 test-faults test-faults-long lint messages messages-check demo demo-setup bench bench-check bench-smoke clean

help:
	@echo "make test          run the tests on every reachable database (SQLite, PostgreSQL, MariaDB)"
	@echo "make test-django6  run them on Python 3.13/3.12 with the newest Django 6.x and psycopg2"
	@echo "make test-faults   restart PostgreSQL in the middle of a load run (needs root on this machine)"
	@echo "make test-faults-long  the whole fault suite for two minutes a test, every backend"
	@echo "make lint          ruff check, ruff format --check, mypy, makemigrations --check, messages-check"
	@echo "make messages      refresh the translation catalogues (.po) from the source and compile them (.mo)"
	@echo "make messages-check  fail if makemessages would add or fuzz an entry, or a .mo is stale"
	@echo "make demo          run the demo project on 127.0.0.1:$(PORT) (PORT=... to change)"
	@echo "make demo-setup    migrate the demo's database, create its users and sample data"
	@echo "make bench         time sequences against the raw driver; writes benchmarks/RESULTS.md"
	@echo "make bench-check   time sequence_check on 1,000,000 documents; writes benchmarks/RESULTS-check.md"
	@echo "make bench-smoke   the benchmarks in a few seconds per backend, correctness only"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test,dev,demo,postgresql2]"
	@# mysqlclient compiles against libmariadb-dev; without it MariaDB is skipped, and said so.
	$(BIN)/python -m pip install -q -e ".[mysql]" \
	  || echo "*** mysqlclient did not install (apt-get install libmariadb-dev pkg-config): MariaDB tests will be skipped"
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python tests/run_backends.py $(ARGS)

test-django6:
	@test -n "$(NEW_PYTHON)" || { echo "No python3.13 or python3.12 here: skipping the Django 6 run"; exit 1; }
	test -x $(NEW_VENV)/bin/python || $(NEW_PYTHON) -m venv $(NEW_VENV)
	$(NEW_VENV)/bin/python -m pip install -q --upgrade pip
	$(NEW_VENV)/bin/python -m pip install -q -e . "Django>=6.0,<7" psycopg2-binary \
	  django-environ pytest pytest-django "coverage[toml]" hypothesis playwright ruff
	$(NEW_VENV)/bin/python -c "import django, psycopg2; print('Django', django.get_version(), 'psycopg2', psycopg2.__version__)"
	! $(NEW_VENV)/bin/python -c "import psycopg" 2>/dev/null
	@# The benchmark smoke test's raw-driver floor needs psycopg 3, which this run leaves out.
	$(NEW_VENV)/bin/python tests/run_backends.py --backends "sqlite postgresql" --require-all \
	  --ignore=tests/test_benchmarks.py $(ARGS)

# Restarts the local PostgreSQL server: never part of `make test`.
test-faults: $(STAMP)
	SEQUENCES_DISRUPTIVE=1 SEQUENCES_TEST_BACKEND=postgresql \
	  $(BIN)/python -m pytest -m disruptive tests/test_faults.py $(ARGS)

test-faults-long: $(STAMP)
	SEQUENCES_DISRUPTIVE=1 SEQUENCES_FAULT_SECONDS=120 \
	  $(BIN)/python tests/run_backends.py tests/test_faults.py $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python -m tests.translations check

# Needs GNU gettext (apt-get install -y gettext). Without it the check says so
# and passes, except under CI=true.
messages: $(STAMP)
	$(BIN)/python -m tests.translations update

messages-check: $(STAMP)
	$(BIN)/python -m tests.translations check

# Timings: every reachable backend, about 6 minutes (more on a busy machine); ARGS="--backends sqlite" to narrow.
bench: $(STAMP)
	$(BIN)/python -m benchmarks $(ARGS)

# sequence_check on 1,000,000 documents per backend; writes benchmarks/RESULTS-check.md.
# Not part of `make bench`: filling the tables takes minutes.
bench-check: $(STAMP)
	$(BIN)/python -m benchmarks.check $(ARGS)

# Correctness only (tests/test_benchmarks.py runs the same on each backend in `make test`).
bench-smoke: $(STAMP)
	$(BIN)/python -m benchmarks --smoke $(ARGS)

demo-setup: $(STAMP)
	$(DEMO) migrate --noinput
	$(DEMO) demo_setup --url http://127.0.0.1:$(PORT)/

demo: demo-setup
	@echo "Serving the demo on http://127.0.0.1:$(PORT)/ (Ctrl-C stops it)"
	$(DEMO) runserver 127.0.0.1:$(PORT)

clean:
	rm -rf $(VENV) $(NEW_VENV) .coverage .coverage.* .pytest_cache .mypy_cache .ruff_cache
