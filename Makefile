# Two commands on a fresh machine with Python 3.11: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SOURCES := notifier carriers tests bench alembic/env.py

.PHONY: demo test lint typecheck audit clean bench

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

# Known vulnerabilities in the installed dependencies (pip-audit, PyPI's vulnerability service).
# Fails when a dependency is vulnerable and when the audit cannot be done or is incomplete.
audit: $(VENV)/.test
	$(BIN)/python .ci/audit.py

# Browser tests run on their own (one Chromium, no xdist): Playwright's sync API keeps an event
# loop running in its process, which other async tests in the same worker must not share.
test: lint typecheck
	$(BIN)/pytest -n 2 -m "not browser" --durations=15
	$(BIN)/pytest -m browser -p no:xdist

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

# Benchmarks (never timed assertions): each prints one JSON line, collected in var/bench and
# turned into the table of docs/performance.md and the README headline. Run on a quiet machine;
# BENCH_RUNS repeats each (the table shows medians). The PostgreSQL run needs the server of
# `make test` (127.0.0.1:5432, or NOTIFIER_TEST_PG); without it that row is missing.
BENCH_RUNS ?= 3
BENCH_OUT := var/bench/results.jsonl
bench: $(VENV)/.test
	mkdir -p var/bench && rm -f $(BENCH_OUT)
	for i in $$(seq $(BENCH_RUNS)); do \
	  $(BIN)/python bench/sweep.py --shipments 10000 --db sqlite | tail -n 1 >> $(BENCH_OUT); \
	  $(BIN)/python bench/sweep.py --shipments 100000 --db sqlite | tail -n 1 >> $(BENCH_OUT); \
	  $(BIN)/python bench/sweep.py --shipments 10000 --db postgresql | tail -n 1 >> $(BENCH_OUT); \
	  $(BIN)/python bench/dispatch.py --notifications 2000 | tail -n 1 >> $(BENCH_OUT); \
	  $(BIN)/python bench/render.py | tail -n 1 >> $(BENCH_OUT); \
	done
	if [ -f bench/timeliness.py ]; then \
	  $(BIN)/python bench/timeliness.py | tail -n 1 >> $(BENCH_OUT); fi
	$(BIN)/python bench/report.py $(BENCH_OUT) --doc docs/performance.md --readme README.md

# The crash and fault campaigns of tests/campaigns, larger than in `make test` (which runs them
# CI-sized): 3 replicas on the PostgreSQL of `make test`, CAMPAIGN_PARCELS parcels arriving while
# a random replica is SIGKILLed at least CAMPAIGN_KILLS times; then the fault campaign with
# CAMPAIGN_FAULT_PARCELS parcels (0 skips it). Prints the figures; fails if an invariant broke.
CAMPAIGN_PARCELS ?= 3000
CAMPAIGN_KILLS ?= 50
CAMPAIGN_FAULT_PARCELS ?= 600
.PHONY: campaign
campaign: $(VENV)/.test
	$(BIN)/python bench/campaign.py --parcels $(CAMPAIGN_PARCELS) --kills $(CAMPAIGN_KILLS) \
	  --fault-parcels $(CAMPAIGN_FAULT_PARCELS)
