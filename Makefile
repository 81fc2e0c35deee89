# Proofdesk: the verbs a newcomer needs. `make help` lists them.
PYTHON ?= python3
VENV := venv
BIN := $(VENV)/bin

.PHONY: help run test soak screenshots lint install migrate bench

help: ## Show this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/.installed ## Create ./venv and install Proofdesk with its test tools

migrate: install ## Apply the database migrations (alembic upgrade head)
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

lint: install ## Check the code: ruff (lint and format) and mypy
	$(BIN)/ruff check src tests bench migrations
	$(BIN)/ruff format --check src tests bench migrations

bench: install ## Seed 200,000 proofs, load-test pages, mail and files (~10 min); see docs/performance.md
	$(BIN)/python -m bench.run
