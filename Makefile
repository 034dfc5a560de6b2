# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install install-runtime demo test lint test-sqlite test-postgresql lock audit-deps

# The service needs only requirements.lock (what the image and `make demo` install);
# tests, linters and code generators come from requirements-dev.lock on top of it.
install-runtime: $(VENV)/.runtime

install: $(VENV)/.installed

$(VENV)/.runtime: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed: $(VENV)/.runtime requirements-dev.lock
	$(BIN)/pip install --quiet -r requirements.lock -r requirements-dev.lock
	touch $@

demo: install-runtime
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
	.lockenv/bin/pip install --quiet .
	.lockenv/bin/pip freeze --exclude vn-fraud-registry > requirements.lock
	.lockenv/bin/pip install --quiet -c requirements.lock '.[dev]'
	.lockenv/bin/pip freeze --exclude vn-fraud-registry | grep -vxFf requirements.lock > requirements-dev.lock
	rm -rf .lockenv

# Known vulnerabilities in the pinned dependencies (needs the network for the advisory data).
audit-deps: install
	$(BIN)/pip-audit --strict -r requirements.lock -r requirements-dev.lock --progress-spinner off
