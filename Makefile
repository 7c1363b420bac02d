# cxreport: yearly customer-experience reports from survey, maturity, revenue and partner data.
# `make help` lists the targets. Every target sets up .venv itself on first use.

YEAR    ?= 2020
DATA    ?= data/sample
OUT     ?= outputs
FORMATS ?= html,pdf
PYTHON  ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
DEST    ?=
FORCE   ?=

.PHONY: help setup report test lab sample publish new-year clean

help: ## List the targets and the variables they take
	@echo "Usage: make <target> [YEAR=$(YEAR)] [DATA=$(DATA)] [OUT=$(OUT)] [FORMATS=$(FORMATS)] [FORCE=1] [DEST=...]"
	@echo
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-10s %s\n", $$1, $$2}'

# The virtual environment is rebuilt only when pyproject.toml changes.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade --quiet pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@# Strip notebook outputs on commit (the filter is declared in .gitattributes).
	@if git rev-parse --git-dir >/dev/null 2>&1; then $(BIN)/nbstripout --install; fi
	touch $(STAMP)

setup: $(STAMP) ## Create .venv and install the project (done by every other target too)

report: $(STAMP) ## Build the reports of YEAR from DATA into OUT/YEAR (only what changed; FORCE=1 rebuilds all)
	$(BIN)/cxreport report --year $(YEAR) --data $(DATA) --out $(OUT) --formats $(FORMATS) $(if $(FORCE),--force)

test: $(STAMP) ## Run the unit tests and the end-to-end notebook tests
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lab: $(STAMP) ## Open JupyterLab on the notebooks with the project's environment
	$(BIN)/jupyter lab --notebook-dir=notebooks

publish: $(STAMP) ## Copy YEAR's finished reports to DEST atomically (make publish YEAR=2020 DEST=/srv/share/cx)
	@test -n "$(DEST)" || { echo "usage: make publish YEAR=$(YEAR) DEST=/path/or/share"; exit 2; }
	$(BIN)/cxreport publish --year $(YEAR) --out $(OUT) --dest $(DEST)

new-year: $(STAMP) ## Start a year: params/YEAR.yaml from the previous year's, and the inputs it needs
	$(BIN)/cxreport new-year --year $(YEAR)

sample: $(STAMP) ## Regenerate the sample data in data/sample
	$(BIN)/cxreport sample --out data/sample

clean: ## Remove generated reports and caches (keeps .venv)
	find $(OUT) -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
	rm -rf .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
