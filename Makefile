# Rollback Cockpit — `make help` lists the targets.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.DEFAULT_GOAL := help
.PHONY: help run test lint bench snapshot-update services screenshot clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 18

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Rollback Cockpit needs Python 3.11+ (PYTHON=$(PYTHON))"; exit 2; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@# The editable install ships no bytecode and these machines run with
	@# PYTHONDONTWRITEBYTECODE=1, which stops Python writing .pyc files but not reading
	@# them: compiled once here, the project's modules are not recompiled at every start
	@# (~250 ms of each start-up). A source edited after install is simply compiled again
	@# at import (correct, only slower) until the next `make` or compileall.
	$(PY) -m compileall -q cockpit screens widgets
	@touch $(STAMP)

run: $(STAMP) ## Open the cockpit on the simulated estate (creates .venv if missing)
	$(VENV)/bin/cockpit

test: $(STAMP) lint services ## make lint, then the whole test suite (starts PostgreSQL and Redis if down)
	$(PY) -m pytest

services: ## Start the local PostgreSQL and Redis the integration tests use, if down
	@sh scripts/ensure-services.sh

lint: $(STAMP) ## ruff, the import contracts of DESIGN's layers, mypy --strict on the typed core
	$(VENV)/bin/ruff check cockpit screens widgets tests bench
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

bench: $(STAMP) ## Print the benchmark figures, each with its ratio against a baseline (ONLY=NAME: one)
	$(PY) bench/run.py $(if $(ONLY),--only $(ONLY))

.PHONY: bench-quick
bench-quick: $(STAMP) ## The benchmarks' reduced forms, for CI (ONLY=NAME: one)
	$(PY) bench/run.py --quick $(if $(ONLY),--only $(ONLY))

snapshot-update: $(STAMP) ## Regenerate the screen snapshots after a deliberate UI change
	$(PY) -m pytest tests/snapshots --snapshot-update

screenshot: $(STAMP) ## Save docs/war-room.svg, the README's screenshot, from the app itself
	$(VENV)/bin/cockpit train --seed 7 --screenshot docs/war-room.svg --at 420

clean: ## Remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .import_linter_cache .grimp_cache
