# The two commands: `make run` and `make test`. Everything else is a helper for them.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
DEVSTACK := $(PY) scripts/devstack.py

.PHONY: run test manage shell fuzz install lint format lock check-ledger check-rollups bench bench-full clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip>=24"
	$(PY) -m pip install -q -c constraints.txt '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## make run: embedded PostgreSQL and Redis unless DATABASE_URL / REDIS_URL are set; migrate, demo data,
## then web (gunicorn on $$PORT, default 8000), Celery worker and beat until Ctrl-C.
run: install
	$(DEVSTACK) run

## make manage ARGS="check_ledger": a management command with make run's settings and services (the same
## secret key, so the same demo passwords and personal-data keys), as the database owner.
manage: install
	$(DEVSTACK) manage $(ARGS)

## make shell: Django's shell, the same way.
shell: install
	$(DEVSTACK) manage shell

## make test: the whole suite against a real PostgreSQL and Redis (embedded ones unless the URLs are set).
test: install
	$(DEVSTACK) exec -- $(PY) -m pytest -n auto $(PYTEST_ARGS)

## make fuzz: the long fuzz campaign (tests/fuzz/campaign.py, about 10 minutes) against gunicorn on loopback,
## once per kind of credential; prints requests, 5xx and schema violations per credential and fails on any.
## FUZZ_ARGS="--minutes 3 --seed 42" for a shorter or a repeated run.
fuzz: install
	$(DEVSTACK) exec -- $(PY) -m tests.fuzz.campaign $(FUZZ_ARGS)

## make check-ledger: the demo's books, settled through the real commands, must check clean.
check-ledger: install
	$(DEVSTACK) exec -- $(PY) scripts/ledger_check_demo.py

## make check-rollups: the demo's analytics rollups, kept current by the refresh pass, must equal the base tables.
check-rollups: install
	$(DEVSTACK) exec -- $(PY) scripts/rollups_check_demo.py

## make bench: every benchmark at small scale (a few minutes), one table of ours / raw / ratio / target;
## make bench-full: the same at full scale (100,000 distributors, 2,000,000 orders; data kept for reuse).
bench: install
	$(DEVSTACK) exec -- $(PY) bench/run.py --scale small

bench-full: install
	$(DEVSTACK) exec -- $(PY) bench/run.py --scale full

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## make lock: record the versions just tested, so a fresh install gets the same ones.
lock: install
	$(PY) -m pip freeze --exclude-editable | grep -v -e '^-e' -e '^distribution-backend' > constraints.txt

clean:
	rm -rf $(VENV) .data
