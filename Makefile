# Goodword. `make demo` runs the demo on SQLite; `make test` runs every check and test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export GOODWORD_DATA_DIR ?= $(CURDIR)/.goodword

.PHONY: demo test test-long lint types migrations-check pytest pytest-sqlite pytest-postgres bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
		{ echo "Goodword needs Python 3.11 or newer ($(PYTHON) is $$($(PYTHON) -V))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	$(BIN)/goodword demo

test: $(VENV)/.installed-dev lint types migrations-check pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

types: $(VENV)/.installed-dev
	$(BIN)/mypy goodword

migrations-check: $(VENV)/.installed-dev
	GOODWORD_DATA_DIR=$$(mktemp -d) $(BIN)/goodword makemigrations --check --dry-run

# pytest on SQLite and, side by side, on PostgreSQL when TEST_DATABASE_URL is set or a local
# server answers (scripts/pytest_both.py); pytest-sqlite and pytest-postgres run one of them.
pytest: $(VENV)/.installed-dev
	$(BIN)/python scripts/pytest_both.py $(PYTEST_ARGS)

pytest-sqlite: $(VENV)/.installed-dev
	GOODWORD_DATA_DIR=$$(mktemp -d) DATABASE_URL= $(BIN)/pytest -m "not long" $(PYTEST_ARGS)

pytest-postgres: $(VENV)/.installed-dev
	@url=$$($(BIN)/python scripts/postgres_url.py); \
	if [ -z "$$url" ]; then echo "PostgreSQL not reachable: skipped the PostgreSQL run (set TEST_DATABASE_URL)"; \
	else echo "pytest on PostgreSQL"; GOODWORD_DATA_DIR=$$(mktemp -d) DATABASE_URL=$$url $(BIN)/pytest -m "not long" $(PYTEST_ARGS); fi

test-long: $(VENV)/.installed-dev
	GOODWORD_DATA_DIR=$$(mktemp -d) DATABASE_URL= $(BIN)/pytest -m long $(PYTEST_ARGS)
	@url=$$($(BIN)/python scripts/postgres_url.py); \
	if [ -n "$$url" ]; then GOODWORD_DATA_DIR=$$(mktemp -d) DATABASE_URL=$$url $(BIN)/pytest -m long $(PYTEST_ARGS); fi

# Benchmarks: each rewrites its section of docs/benchmarks.md (needs wrk, pgbench, PostgreSQL).
bench: $(VENV)/.installed
	$(BIN)/python benches/redirect.py
	$(BIN)/python benches/durability.py
	$(BIN)/python benches/events.py
	$(BIN)/python benches/batch.py
	$(BIN)/python benches/event_cpu.py
	$(BIN)/python benches/webhooks.py
	$(BIN)/python benches/inbox.py
	$(BIN)/python benches/imports.py
	$(BIN)/python benches/import_redirect.py
	$(BIN)/python benches/messaging.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
