# The two commands a newcomer needs: `make demo` and `make test`.
# Everything installs into .venv (created on first use) from pyproject.toml.

PYTHON ?= $(shell command -v python3.11 >/dev/null 2>&1 && echo python3.11 || echo python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# A second Python/Django pair: the newest Django 6.x on Python 3.13 (or 3.12),
# with psycopg2 as the only PostgreSQL driver so that both drivers are tested.
NEW_VENV := .venv-django6
# The benchmark workers' own Django 6.x and psycopg 3 (make bench-django6).
BENCH_NEW_VENV := .venv-bench-django6
NEW_PYTHON ?= $(shell for v in 3.13 3.12; do \
	  p=$$(ls -d /root/.pyenv/versions/$$v*/bin/python$$v 2>/dev/null | tail -n 1); \
	  [ -n "$$p" ] && { echo $$p; exit; }; \
	  command -v python$$v >/dev/null 2>&1 && python$$v -c '' 2>/dev/null && { echo python$$v; exit; }; \
	done)

# The demo: DATABASE_URL picks its database (default: the SQLite file demo/db.sqlite3).
PORT ?= 8000
DEMO := $(BIN)/python demo/manage.py

.PHONY: help system-packages mysql-driver install test package-check test-django6 test-failover test-galera test-patroni test-faults test-faults-long lint messages messages-check demo demo-setup bench bench-django6 bench-lockhold bench-instructions bench-check bench-smoke bench-multiserver clean

help:
	@echo "make test          run the tests on every reachable database (SQLite, PostgreSQL, MariaDB)"
	@echo "make test-django6  run them on Python 3.13/3.12 with the newest Django 6.x and psycopg2"
	@echo "make test-failover throwaway PostgreSQL servers: failover to a synchronous standby, pgbouncer"
	@echo "make test-galera   a throwaway three-node MariaDB Galera cluster: writer killed, multi-writer"
	@echo "make test-patroni  optional: Patroni (etcd, 3 nodes, strict synchronous mode) failover, ~1 min"
	@echo "make test-faults   restart PostgreSQL in the middle of a load run (needs root on this machine)"
	@echo "make test-faults-long  the whole fault suite for two minutes a test, every backend"
	@echo "make lint          ruff check, ruff format --check, mypy, makemigrations --check, messages-check"
	@echo "make messages      refresh the translation catalogues (.po) from the source and compile them (.mo)"
	@echo "make messages-check  fail if makemessages would add or fuzz an entry, or a .mo is stale"
	@echo "make demo          run the demo project on 127.0.0.1:$(PORT) (PORT=... to change)"
	@echo "make demo-setup    migrate the demo's database, create its users and sample data"
	@echo "make bench         time sequences against the Django floor, 3.1, psycopg2; writes benchmarks/RESULTS.md"
	@echo "make bench-django6 the same with Django 6.x on Python 3.13/3.12; writes benchmarks/RESULTS-django6.md"
	@echo "make bench-instructions  client instructions per call under valgrind: ours, floor, 3.1 (~15 min)"
	@echo "make bench-lockhold  drawing first vs drawing last, 8 processes (~1.5 min); writes benchmarks/RESULTS-lockhold.md"
	@echo "make bench-check   time sequence_check on 1,000,000 documents; writes benchmarks/RESULTS-check.md"
	@echo "make bench-multiserver  a hot sequence with a synchronous standby (throwaway servers, ~1 min)"
	@echo "make bench-smoke   the benchmarks in a few seconds per backend, correctness only"
	@echo "make package-check build the wheel and sdist, install the wheel in a clean venv, check it"
	@echo
	@echo "make install and make test first install the system packages they need"
	@echo "(pkg-config, libmariadb-dev, chromium, gettext) when root with apt-get; otherwise"
	@echo "they say what they skip. SEQUENCES_SYSTEM_PACKAGES=0 turns that step off."

# System packages (pkg-config, libmariadb-dev, chromium, gettext) for `make install`
# and `make test`: installed when missing and root, else one line per skipped part.
# SEQUENCES_SYSTEM_PACKAGES=0 turns it off. (The demo needs none of them.)
system-packages:
	@bash .ci/system-packages

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	@# The project's old distribution name: the same sequences/ folder, so it must go
	@# (and with it a stale egg-info of that name in this checkout).
	rm -rf django_sequences.egg-info
	@if $(BIN)/python -m pip show -q django-sequences >/dev/null 2>&1; then \
	  echo "Uninstalling django-sequences (this project's old name) from $(VENV)"; \
	  $(BIN)/python -m pip uninstall -y -q django-sequences; fi
	$(BIN)/python -m pip install -q -e ".[test,dev,demo,postgresql2]"
	touch $(STAMP)

# mysqlclient compiles against the MariaDB client headers: without them it is not
# tried (system-packages has said that MariaDB is skipped, and how to enable it);
# once they are there, the next `make install` or `make test` builds it.
mysql-driver: $(STAMP)
	@$(BIN)/python -c "import MySQLdb" 2>/dev/null \
	  || ! bash .ci/system-packages --mariadb-headers \
	  || $(BIN)/python -m pip install -q -e ".[mysql]" \
	  || echo "*** mysqlclient did not build: the MariaDB tests will be skipped"

install: system-packages $(STAMP) mysql-driver

test: system-packages mysql-driver
	$(BIN)/python tests/run_backends.py $(ARGS)

test-django6:
	@test -n "$(NEW_PYTHON)" || { echo "No python3.13 or python3.12 here: skipping the Django 6 run"; exit 1; }
	test -x $(NEW_VENV)/bin/python || $(NEW_PYTHON) -m venv $(NEW_VENV)
	$(NEW_VENV)/bin/python -m pip install -q --upgrade pip
	@if $(NEW_VENV)/bin/python -m pip show -q django-sequences >/dev/null 2>&1; then \
	  $(NEW_VENV)/bin/python -m pip uninstall -y -q django-sequences; fi
	$(NEW_VENV)/bin/python -m pip install -q -e . "Django>=6.0,<7" psycopg2-binary \
	  django-environ pytest pytest-django "coverage[toml]" hypothesis playwright ruff
	$(NEW_VENV)/bin/python -c "import django, psycopg2; print('Django', django.get_version(), 'psycopg2', psycopg2.__version__)"
	! $(NEW_VENV)/bin/python -c "import psycopg" 2>/dev/null
	@# The benchmark smoke test's raw-driver floor needs psycopg 3, which this run leaves out.
	$(NEW_VENV)/bin/python tests/run_backends.py --backends "sqlite postgresql" --require-all \
	  --ignore=tests/test_benchmarks.py $(ARGS)

# Throwaway servers of their own (PostgreSQL 15 binaries, Debian's pgbouncer; for
# test-galera, mariadbd with galera-4 and rsync) on free ports in a temporary
# directory; the machine's servers are left alone. About a minute each.
# Missing Debian packages are installed when running as root with apt-get.
test-failover: $(STAMP)
	@bash .ci/system-packages --debian "postgresql-15 pgbouncer" "the failover and pgbouncer tests"
	SEQUENCES_MULTISERVER=1 $(BIN)/python -m pytest -m multiserver tests/multiserver/test_failover.py \
	  tests/multiserver/test_unreplicated_commit.py tests/multiserver/test_pgbouncer.py $(ARGS)

test-galera: $(STAMP)
	@bash .ci/system-packages --debian "mariadb-server galera-4 rsync" "the Galera tests"
	SEQUENCES_MULTISERVER=1 $(BIN)/python -m pytest -m multiserver tests/multiserver/test_galera.py $(ARGS)

# Optional (not in CI): stops by itself, about a minute.
test-patroni: $(STAMP)
	@bash .ci/system-packages --debian "postgresql-15 patroni etcd-server" "the Patroni test"
	SEQUENCES_MULTISERVER=1 $(BIN)/python -m pytest -m multiserver tests/multiserver/test_patroni.py $(ARGS)

# Restarts the local PostgreSQL server: never part of `make test`.
test-faults: $(STAMP)
	SEQUENCES_DISRUPTIVE=1 SEQUENCES_TEST_BACKEND=postgresql \
	  $(BIN)/python -m pytest -m disruptive tests/test_faults.py $(ARGS)

test-faults-long: $(STAMP)
	SEQUENCES_DISRUPTIVE=1 SEQUENCES_FAULT_SECONDS=120 \
	  $(BIN)/python tests/run_backends.py tests/test_faults.py $(ARGS)

lint: system-packages $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/mypy --scripts-are-modules .ci/package-check
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python -m tests.translations check

# Needs GNU gettext (apt-get install -y gettext). Without it the check says so
# and passes, except under CI=true.
messages: $(STAMP)
	$(BIN)/python -m tests.translations update

messages-check: system-packages $(STAMP)
	$(BIN)/python -m tests.translations check

# Timings: every reachable backend, about 6 minutes (more on a busy machine); ARGS="--backends sqlite" to narrow.
bench: $(STAMP)
	$(BIN)/python -m benchmarks $(ARGS)

# The same harness, its workers on the newest Django 6.x with psycopg 3 (the
# 3.1 and psycopg2 virtualenvs follow the workers' Python and Django).
bench-django6: $(STAMP)
	@test -n "$(NEW_PYTHON)" || { echo "No python3.13 or python3.12 here: skipping the Django 6 benchmark"; exit 1; }
	test -x $(BENCH_NEW_VENV)/bin/python || $(NEW_PYTHON) -m venv $(BENCH_NEW_VENV)
	$(BENCH_NEW_VENV)/bin/python -m pip install -q "Django>=6.0,<7" "psycopg[binary]>=3.1"
	$(BENCH_NEW_VENV)/bin/python -m pip install -q "mysqlclient>=2.2" \
	  || echo "*** mysqlclient did not build for $(BENCH_NEW_VENV): MariaDB will be skipped"
	$(BIN)/python -m benchmarks --worker-python $(BENCH_NEW_VENV)/bin/python \
	  --output benchmarks/RESULTS-django6.md $(ARGS)

# sequence_check on 1,000,000 documents per backend; writes benchmarks/RESULTS-check.md.
# Not part of `make bench`: filling the tables takes minutes.
bench-check: $(STAMP)
	$(BIN)/python -m benchmarks.check $(ARGS)

# Drawing first vs drawing last (assign_next_value) on one hot sequence, 8 processes;
# writes benchmarks/RESULTS-lockhold.md. About 1.5 minutes on three backends.
bench-lockhold: $(STAMP)
	$(BIN)/python -m benchmarks.lockhold $(ARGS)

# Client instructions per call, counted by valgrind (load-independent): ours, the
# Django floor and, with SEQUENCES_BENCH_V31_VENV, django-sequences 3.1. About 15 minutes.
bench-instructions: $(STAMP)
	$(BIN)/python -m benchmarks.instructions --output benchmarks/RESULTS-instructions.md $(ARGS)

# Throwaway primary + synchronous standby; not part of `make bench`'s time budget.
bench-multiserver: $(STAMP)
	$(BIN)/python -m benchmarks.multiserver --output benchmarks/RESULTS-multiserver.md $(ARGS)

# Correctness only (tests/test_benchmarks.py runs the same on each backend in `make test`).
bench-smoke: $(STAMP)
	$(BIN)/python -m benchmarks --smoke $(ARGS)

# The sdist and the wheel, the wheel installed in a clean venv and checked (.ci/package-check).
package-check: $(STAMP)
	$(BIN)/python .ci/package-check

demo-setup: $(STAMP) mysql-driver
	$(DEMO) migrate --noinput
	$(DEMO) demo_setup --url http://127.0.0.1:$(PORT)/

demo: demo-setup
	@echo "Serving the demo on http://127.0.0.1:$(PORT)/ (Ctrl-C stops it)"
	$(DEMO) runserver 127.0.0.1:$(PORT)

clean:
	rm -rf $(VENV) $(NEW_VENV) $(BENCH_NEW_VENV) .coverage .coverage.* .pytest_cache .mypy_cache .ruff_cache
