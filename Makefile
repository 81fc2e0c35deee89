# Proofdesk: the verbs a newcomer needs. `make help` lists them.
PYTHON ?= python3
VENV := venv
BIN := $(VENV)/bin
# The locked versions (requirements/*.txt, written by `make lock`: complete, so --no-deps),
# then Proofdesk itself, built with the locked setuptools; no bytecode compiled at install
# time (Python compiles what it imports).
PIP_INSTALL := $(BIN)/pip install --quiet --no-compile --no-deps --disable-pip-version-check

.PHONY: help run test soak screenshots lint install migrate bench lock

help: ## Show this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# What running needs, and no test tools: `make run` on a fresh clone installs only this.
$(VENV)/.run-installed: requirements/run.txt pyproject.toml | $(BIN)/python
	$(PIP_INSTALL) -r requirements/run.txt
	$(PIP_INSTALL) --no-build-isolation -e .
	touch $@

$(VENV)/.test-installed: requirements/test.txt pyproject.toml | $(BIN)/python
	$(PIP_INSTALL) -r requirements/test.txt
	$(PIP_INSTALL) --no-build-isolation -e .
	touch $@

install: $(VENV)/.test-installed ## Create ./venv and install Proofdesk with its test tools

migrate: $(VENV)/.run-installed ## Apply the database migrations (alembic upgrade head)
	$(BIN)/alembic upgrade head

run: migrate ## Serve on http://127.0.0.1:8000 with the worker (PORT changes the port)
	$(BIN)/proofdesk run

test: install ## Run the whole test suite
	$(BIN)/pytest

soak: install ## Workers at 10,000 emails: 4 at once, and killed at random (PostgreSQL; prints figures)
	SOAK_NOTIFICATIONS=$${SOAK_NOTIFICATIONS:-10000} $(BIN)/pytest -q -s -n 0 tests/faults/test_worker_soak.py \
		tests/notifications/test_concurrency.py::test_four_workers_send_every_notification_exactly_once

screenshots: install ## Retake the README's screenshots in docs/screenshots (browser tests)
	UPDATE_SCREENSHOTS=1 $(BIN)/pytest -q tests/browser

lint: install ## Check the code: ruff (lint and format) and mypy (strict, on src/)
	$(BIN)/ruff check src tests bench migrations typings requirements
	$(BIN)/ruff format --check src tests bench migrations typings requirements
	$(BIN)/mypy

lock: | $(BIN)/python ## Pin every dependency anew (requirements/*.txt) after changing pyproject.toml
	$(BIN)/python requirements/lock.py

bench: install ## Seed 200,000 proofs, load-test pages, mail and files (~10 min); see docs/performance.md
	$(BIN)/python -m bench.run
