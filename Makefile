# VixPro: `make up` runs it, `make test` checks it. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: up test lint typecheck bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The host agent (agent/) is its own distribution; the platform depends on it for the protocol.
$(STAMP): pyproject.toml agent/pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ./agent -e .
	touch $@

$(DEV_STAMP): pyproject.toml agent/pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ./agent -e ".[dev]"
	touch $@ $(STAMP)

up: $(STAMP)
	$(BIN)/vixpro up

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests bench agent
	$(BIN)/ruff format --check src tests bench agent
	$(BIN)/mypy
	$(BIN)/mypy --strict agent/src
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest

bench: $(DEV_STAMP)
	$(BIN)/python bench/api.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
