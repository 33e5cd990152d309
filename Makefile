# Two commands do all set-up: `make run` and `make test`.
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint setup data clean migration

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

setup: $(BIN)/.installed

## Create the environment, migrate, load the California data and the demo, and serve with in-process workers.
# The demo's links and the links in e-mails point at this server unless ADVOCACY_BASE_URL says otherwise.
run: export ADVOCACY_BASE_URL ?= http://$(HOST):$(PORT)
run: $(BIN)/.installed
	$(BIN)/advocacy db upgrade
	$(BIN)/advocacy data load
	$(BIN)/advocacy demo
	$(BIN)/advocacy run --host $(HOST) --port $(PORT)

## The whole suite (SQLite + in-process broker unless ADVOCACY_TEST_DATABASE_URL / ADVOCACY_TEST_BROKER_URL).
test: $(BIN)/.installed
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check advocacy tests bench worker.py
	$(BIN)/mypy

clean:
	rm -rf var/ .pytest_cache .mypy_cache .ruff_cache

## Before the first release the schema is one initial migration, regenerated from the models.
migration: $(BIN)/.installed
	mkdir -p var && rm -f var/migration-gen.db migrations/versions/0001_initial_schema.py
	ADVOCACY_DATABASE_URL=sqlite:///var/migration-gen.db $(BIN)/python -c "from alembic import command; \
	from advocacy.migrate import alembic_config; \
	command.revision(alembic_config(), message='initial schema', autogenerate=True, rev_id='0001')"
	rm -f var/migration-gen.db
