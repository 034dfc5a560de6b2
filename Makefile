# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install demo test lint test-sqlite test-postgresql lock audit-deps

install: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

demo: install
	$(BIN)/registry demo

lint: install
	$(BIN)/ruff check app tests migrations bench
	$(BIN)/ruff format --check app tests migrations bench
	$(BIN)/mypy

test-sqlite: install
	REGISTRY_TEST_DATABASE=sqlite $(BIN)/pytest

test-postgresql: install
	REGISTRY_TEST_DATABASE=postgresql $(BIN)/pytest

test: lint test-sqlite test-postgresql

# Re-pin every dependency after changing pyproject.toml.
lock:
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv
	.lockenv/bin/pip install --quiet --upgrade pip
	.lockenv/bin/pip install --quiet '.[dev]'
	.lockenv/bin/pip freeze --exclude vn-fraud-registry > requirements.lock
	rm -rf .lockenv

# Known vulnerabilities in the pinned dependencies (needs the network for the advisory data).
audit-deps: install
	$(BIN)/pip-audit --strict -r requirements.lock --progress-spinner off
