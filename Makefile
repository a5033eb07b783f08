# Every target creates .venv and installs the pinned dependencies first (again only when
# pyproject.toml or constraints.txt changed).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench lint format constraints docs reference

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "trainflow needs Python 3.11+, $(PYTHON) is " + sys.version.split()[0] + ": make PYTHON=python3.11 ..." or 0)'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/trainflow run

# Test files spread over TEST_WORKERS processes (pytest-xdist; each file stays on one, with its
# own Prefect server per process): most of a test waits on subprocesses, servers and DVC.
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

bench: $(STAMP)
	$(BIN)/python -m bench

# The documentation site into site/ (not committed); fails on a broken link or a stale reference page.
docs: $(STAMP)
	$(BIN)/python -m flows.reference --check docs/reference
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

# Regenerate the reference pages (params, command line, exit codes) from the code.
reference: $(STAMP)
	$(BIN)/python -m flows.reference docs/reference

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Re-pin every dependency from the current venv (after changing pyproject.toml).
constraints: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable --disable-pip-version-check > constraints.txt
