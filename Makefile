# cxreport: yearly customer-experience reports from survey, maturity, revenue and partner data.
# `make help` lists the targets. Every target sets up .venv itself on first use.

YEAR    ?= 2020
DATA    ?= data/sample
OUT     ?= outputs
FORMATS ?= html,pdf
ENGINE  ?= duckdb
ENGINE_URL ?=
PYTHON  ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
FILTERS := $(VENV)/.git-filters
PYTEST_ARGS ?=
LAB_ARGS    ?=

.DEFAULT_GOAL := help
DEST    ?=
FORCE   ?=

# `make test`: what you run often (at most 3 minutes on 2 cores): unit and report-model tests and
# the end-to-end tests that read the one shared sample build (HTML only). `make test-all`: the whole
# suite, adding the tests that run builds of their own, the PDF checks and the browser test
# (markers: pyproject.toml).
TEST_SELECTION := (not slow or shared_build) and not browser and not pdf
# Two pytest-xdist workers (TEST_WORKERS=0 runs in one process). The shared sample build starts in the
# background when the tests are collected, and its tests run last (tests/conftest.py).
TEST_WORKERS   ?= 2
PYTEST         := $(BIN)/python -m pytest $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS))
# pytest exits 5 when a selection holds no test (e.g. `make test PYTEST_ARGS=tests/test_browser.py`):
# say so instead of failing.
NO_TESTS_OK     = rc=$$?; if [ $$rc -eq 5 ]; then echo "make $@: no test matched this selection (the slow and browser tests run in make test-all)"; rc=0; fi; exit $$rc

# JupyterLab refuses to start as root (containers) without --allow-root.
ALLOW_ROOT = $(if $(filter 0,$(shell id -u)),--allow-root)
SUDO       = $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: help setup report test test-all lab browser-deps postgres-deps java-deps strip-notebooks sample publish new-year clean

help: ## List the targets and the variables they take
	@echo "Usage: make <target> [YEAR=$(YEAR)] [DATA=$(DATA)] [OUT=$(OUT)] [FORMATS=$(FORMATS)] [ENGINE=$(ENGINE)] [ENGINE_URL=...] [FORCE=1] [DEST=...] [PYTEST_ARGS=...] [LAB_ARGS=...]"
	@echo
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-14s %s\n", $$1, $$2}'

# The virtual environment is rebuilt only when pyproject.toml changes.
$(STAMP): pyproject.toml
	@echo "Setting up $(VENV): installing cxreport and its dependencies (about 2 minutes the first time)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade --quiet pip
	$(BIN)/python -m pip install --progress-bar on -e '.[dev]'
	touch $(STAMP)

# Strip notebook outputs on `git add` (the filter is declared in .gitattributes). The filter
# command is relative to the repository (scripts/nbstripout-filter), so git keeps working when
# .venv is moved or deleted.
$(FILTERS): scripts/install-git-filters | $(STAMP)
	@sh scripts/install-git-filters
	@touch $(FILTERS)

setup: $(STAMP) $(FILTERS) ## Create .venv and install the project (done by every other target too)

report: setup ## Build the reports of YEAR from DATA into OUT/YEAR (only what changed; FORCE=1 rebuilds all; ENGINE=spark)
	$(BIN)/cxreport report --year $(YEAR) --data $(DATA) --out $(OUT) --formats $(FORMATS) --engine $(ENGINE) $(if $(ENGINE_URL),--engine-url $(ENGINE_URL)) $(if $(FORCE),--force)

test: setup ## Run the tests you run often: unit, report-model and one shared end-to-end build (< 3 min)
	@echo "make test: unit and report-model tests, and the end-to-end tests on one shared sample build (make test-all runs everything)"
	$(PYTEST) -m "$(TEST_SELECTION)" $(PYTEST_ARGS); $(NO_TESTS_OK)

test-all: setup ## Run the whole suite: adds the tests with builds of their own, PDF and browser checks (CI)
	@echo "make test-all: the whole suite, with the slow end-to-end builds and the browser test (make browser-deps installs Chromium)"
	$(PYTEST) $(PYTEST_ARGS); $(NO_TESTS_OK)

browser-deps: ## Install Debian's chromium for the browser test (apt-get; skipped when present)
	@if [ -x /usr/bin/chromium ]; then \
		echo "Chromium is installed (/usr/bin/chromium): nothing to do"; \
	else \
		echo "Installing Debian's chromium for the browser test (apt-get)"; \
		$(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends chromium; \
	fi

# PostgreSQL for the database-input test (tests/test_postgres.py starts a throwaway cluster on 127.0.0.1 with
# initdb/pg_ctl from /usr/lib/postgresql/*/bin; it never touches a system cluster).
postgres-deps: ## Install Debian's postgresql for the database-input test (apt-get; skipped when present)
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		echo "PostgreSQL is installed ($$(ls -d /usr/lib/postgresql/*/bin | head -1)): nothing to do"; \
	else \
		echo "Installing Debian's postgresql for the database-input test (apt-get)"; \
		$(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends postgresql; \
	fi

java-deps: ## Install Java 17 for Spark (ENGINE=spark and the Spark tests; apt-get; skipped when present)
	@if java -version 2>&1 | grep -Eq 'version "(1[7-9]|2[0-9])'; then \
		echo "Java is installed ($$(java -version 2>&1 | head -1)): nothing to do"; \
	else \
		echo "Installing Debian's openjdk-17-jre-headless for Spark (apt-get)"; \
		$(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends openjdk-17-jre-headless; \
	fi

lab: setup ## Open JupyterLab on the notebooks (LAB_ARGS="--no-browser --port 8899"; --allow-root as root)
	$(BIN)/jupyter lab --notebook-dir=notebooks $(ALLOW_ROOT) $(LAB_ARGS)

publish: setup ## Copy YEAR's finished reports to DEST atomically (make publish YEAR=2020 DEST=/srv/share/cx)
	@test -n "$(DEST)" || { echo "usage: make publish YEAR=$(YEAR) DEST=/path/or/share"; exit 2; }
	$(BIN)/cxreport publish --year $(YEAR) --out $(OUT) --dest $(DEST)

new-year: setup ## Start a year: params/YEAR.yaml from the previous year's, and the inputs it needs
	$(BIN)/cxreport new-year --year $(YEAR)

strip-notebooks: setup ## Rewrite notebooks/*.ipynb exactly as the git filter commits them (no outputs, no autosave metadata)
	@for nb in notebooks/*.ipynb; do sh scripts/nbstripout-filter < "$$nb" > "$$nb.tmp" && mv "$$nb.tmp" "$$nb" || exit 1; done
	@echo "notebooks/*.ipynb stripped as scripts/nbstripout-filter commits them"

sample: setup ## Regenerate the sample data in data/sample
	$(BIN)/cxreport sample --out data/sample

clean: ## Remove generated reports and caches (keeps .venv)
	find $(OUT) -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
	rm -rf .pytest_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
