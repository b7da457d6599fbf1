# perparb: set-up, demo and tests. Two commands on a fresh machine: `make demo`, `make test`.
SHELL := /bin/bash
VENV  ?= .venv
# Python 3.10 is required (paradex-py's signing dependency ships 3.10 wheels only). Take the first
# interpreter that really is 3.10: a pyenv shim named python3.10 may exist without working.
PYTHON ?= $(shell for p in python3.10 $$HOME/.pyenv/versions/3.10*/bin/python3.10 /usr/local/bin/python3.10 /usr/bin/python3.10; do \
            $$p -c 'import sys; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1 && { echo $$p; break; }; done)
BIN   := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint typecheck check bench clean-demo

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "error: Python 3.10 not found (set PYTHON=/path/to/python3.10)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

## demo: simulator + embedded PostgreSQL + migrations + one collection cycle + the ranked table
demo: $(STAMP)
	$(BIN)/python -m perparb.demo

## test: the whole suite (unit, conformance against ../shared, integration against PostgreSQL + simulator)
test: $(STAMP)
	$(BIN)/python -m pytest -q

## lint: ruff (rules and formatting); typecheck: mypy (configured in pyproject.toml); check: both, as CI runs them
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck

bench: $(STAMP)
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done
