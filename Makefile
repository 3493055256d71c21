# Two commands do all the set-up on a fresh clone:
#   make demo     - the main job: the sample district synced into the local Graph sandbox
#   make test     - the test suite (lint, types, tests); tests marked slow run only in CI
#   make test-all - the same with the slow tests too (what CI runs: .ci/run sets CI=true)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-all lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]' --config-settings editable_mode=compat
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/iepsched --config config/iepsched.toml demo

lint: $(STAMP)
	$(BIN)/ruff check iepsched tests benchmarks
	$(BIN)/ruff format --check iepsched tests benchmarks
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q

test-all: lint
	IEPSCHED_SLOW=1 $(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis test-artifacts
