# Two commands a newcomer needs: `make demo` and `make test`. Both bootstrap .venv on a fresh clone.
# The test tiers (README "Tests"): `make test` (fast, about 10 minutes), `make test-suites` (the seeded suites),
# `make test-other-guid-model` (every end-to-end test under TimeLog's other GUID model); .ci/run runs all three.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The Dagster code location's own virtualenv (orchestrate/pyproject.toml says why it is apart from .venv).
DAGSTER_VENV := .venv-dagster
DAGSTER_STAMP := $(DAGSTER_VENV)/.installed
PLUGINS := ./clients/http-clock ./clients/forecast-api ./clients/timelog-api ./clients/harvest-api ./transform ./tap-forecast ./tap-timelog ./target-timelog ./target-forecast
export MELTANO_SEND_ANONYMOUS_USAGE_STATS := false
export MELTANO_CLI_DISABLE_VERSION_CHECK := true
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install bytecode test test-suites test-other-guid-model test-long demo screenshot bench lint catalogs clean

install: $(STAMP) $(DAGSTER_STAMP)

$(STAMP): pyproject.toml constraints.txt meltano.yml $(addsuffix /pyproject.toml,$(PLUGINS)) tap-harvest-launcher/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --constraint constraints.txt -e . $(addprefix -e ,$(PLUGINS))
	# orchestrate/'s sources only (it runs from .venv-dagster), so that lint-imports here finds timesync_dagster.
	$(BIN)/pip install --quiet --no-deps -e ./orchestrate
	$(BIN)/meltano install
	$(MAKE) --no-print-directory bytecode
	touch $(STAMP)

$(DAGSTER_STAMP): orchestrate/pyproject.toml orchestrate/constraints.txt
	$(PYTHON) -m venv $(DAGSTER_VENV)
	$(DAGSTER_VENV)/bin/pip install --quiet --constraint orchestrate/constraints.txt -e './orchestrate[test]'
	touch $(DAGSTER_STAMP)

# Bytecode for the plugin venvs and for our editable packages, written once here. Their pip_url's `--compile`
# covers the venvs' installed packages, but no installer compiles an editable package's sources, and under
# PYTHONDONTWRITEBYTECODE=1 (common in images) every scheduled run would compile them again; Python reads a fresh
# .pyc in __pycache__ even when that variable is set. Each venv's own Python, so the cache tag is its own.
# Needs nothing but the venvs: run it after a plain `meltano install` too (README "Deploying").
bytecode:
	@for python in .meltano/*/*/venv/bin/python; do \
	  "$$python" -m compileall -q -j 0 "$${python%/bin/python}/lib" $(PLUGINS) ./tap-harvest-launcher >/dev/null \
	    || echo "bytecode: $$python -m compileall reported files it cannot compile (they are never imported)"; \
	done

test: install
	$(MAKE) --no-print-directory bytecode  # modules added since the install (tests/test_startup.py checks)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	cd orchestrate && ../$(DAGSTER_VENV)/bin/mypy && ../$(DAGSTER_VENV)/bin/pytest -q
	$(BIN)/pytest -n 2 --dist loadgroup -m "not suite"

# What `make test` leaves out to stay quick (marker `suite`): the seeded end-to-end suites (convergence, crash,
# faults, bad input, overlap, progress, secrets, fresh clone) and the whole convergence machine.
test-suites: install
	$(BIN)/pytest -n 2 --dist loadgroup -m suite

# The end-to-end suites again, with the TimeLog simulator keying work units by Reporting's other GUID: the sync
# must be right under either reading (docs/assumptions.md 1). `make test` and `make test-suites` run the default one.
# Tests that read no work units (marker guid_model_neutral) would only repeat themselves.
test-other-guid-model: install
	TIMESYNC_SANDBOX_GUID_MODEL=work_unit $(BIN)/pytest -n 2 --dist loadgroup -m "e2e and not guid_model_neutral"

test-long: install
	TIMESYNC_LONG_SUITES=1 $(BIN)/pytest -n 2 --dist loadgroup -m "slow or e2e or suite"

demo: install
	$(BIN)/python -m sandbox.demo

# docs/report-screenshot.png, the README's picture of `timesync report`: the demo's report in headless Chromium
# (Debian's `chromium` package, driven by playwright; nothing is downloaded).
screenshot: demo
	$(BIN)/python -m sandbox.browser output/report.html docs/report-screenshot.png

bench: install
	$(BIN)/python -m bench

# The sync taps' pinned catalogs (meltano.yml): discovery with their `select` applied, without the pin.
catalogs: install
	for tap in tap-forecast--sync tap-timelog--sync; do \
	  env "$$(echo $$tap | tr a-z- A-Z_)__CATALOG=" $(BIN)/meltano invoke --dump=catalog $$tap \
	    > extract/$$tap.catalog.json || exit 1; \
	done

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	cd orchestrate && ../$(DAGSTER_VENV)/bin/mypy

clean:
	rm -rf $(VENV) .meltano output
