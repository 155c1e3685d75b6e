# The two commands of the quick start: `make run` and `make test`. Both bootstrap .venv on a
# fresh machine (Python 3.11+), and are quick when it is already installed.

PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	&& { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
# Re-install only when the dependency list changes.
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
CONFIG ?= etc/asnd.toml

.PHONY: all run test lint typecheck pytest bench clean venv

all: test

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "error: Python 3.11 or newer is required (python3.11+ not found on PATH)" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	@rm -f $(VENV)/.installed-*
	@touch $@

run: venv
	$(BIN)/asnd run --config $(CONFIG)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy

# pytest exits 5 when it collected no tests; make treats any non-zero exit as failure, so an
# empty suite fails CI instead of passing silently.
# Two workers (pytest-xdist): most tests wait on subprocesses and sockets, not the CPU;
# worksteal keeps both busy when one draws the long process tests. TEST_WORKERS=0 runs serially.
TEST_WORKERS ?= 2
pytest: venv
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist worksteal

test: lint typecheck pytest

# Each bench/<name>.py prints JSON lines; run one with `.venv/bin/python -m bench.<name>`.
bench: venv
	@for f in bench/*.py; do case $$f in */_*) continue;; esac; \
		$(BIN)/python -m bench.$$(basename $$f .py) || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build *.egg-info
