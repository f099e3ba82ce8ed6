# Calculus & Autograd — set-up, demo and tests. See README.md.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# nbgrader runs `alembic` by name: the venv's bin must be on PATH.
export PATH := $(BIN):$(PATH)
export PYTHONWARNINGS := ignore::DeprecationWarning
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint release nbval clean bench

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@bash tools/install_system_packages.sh
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

demo: setup
	$(BIN)/python -m calcgrad.demo

lint: setup
	$(BIN)/ruff check .

nbval: setup
	$(BIN)/pytest -q -n 2 --dist loadfile --nbval notebooks --nbval-sanitize-with tests/nbval_sanitize.cfg
	$(BIN)/pytest -q -n 2 --dist loadfile --nbval-lax source

test: setup lint
	$(BIN)/pytest -q -n 2 --dist loadfile --durations=15 tests
	$(MAKE) --no-print-directory nbval

# plain `nbgrader autograde` vs `calcgrad autograde` on the same class of N honest
# submissions per assignment (make bench N=20 BIG= for a quick look); BIG: larger classes graded
# by calcgrad only, to show its peak memory does not grow with the class. About 20 minutes.
N ?= 100
BIG ?= 1000
# Then a burst of BURST submissions within a second: `calcgrad serve` (warm) against plain
# nbgrader's collect+autograde+generate_feedback+release_feedback, p50/p95 submit -> feedback.
BURST ?= 50
bench: setup
	$(BIN)/python tools/bench.py --n $(N) $(if $(BIG),--calcgrad-n $(BIG))
	$(BIN)/python tools/bench_serve.py --n $(BURST)

# Regenerate release/ from source/ (never hand-edit release/).
release: setup
	$(BIN)/python tools/regenerate_release.py

# README pictures (docs/*.png), taken in headless Chromium: a lecture notebook, a failed
# check, the instructor report. Commit them when they change.
.PHONY: screenshots
screenshots: setup
	$(BIN)/python tools/screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
