# Two commands on a fresh machine with Python 3.11: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SOURCES := notifier carriers tests bench alembic/env.py

.PHONY: demo test lint typecheck clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.test: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.runtime

demo: $(VENV)/.runtime
	$(BIN)/notifier demo

lint: $(VENV)/.test
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/ruff format --check $(SOURCES)
	$(BIN)/lint-imports

typecheck: $(VENV)/.test
	$(BIN)/mypy

# Browser tests run on their own (one Chromium, no xdist): Playwright's sync API keeps an event
# loop running in its process, which other async tests in the same worker must not share.
test: lint typecheck
	$(BIN)/pytest -n 2 -m "not browser" --durations=15
	$(BIN)/pytest -m browser -p no:xdist

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
