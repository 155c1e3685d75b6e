# The two commands of the quick start: `make run` and `make test`. Both bootstrap .venv on a
# fresh machine (Python 3.11+), and are quick when it is already installed.
#
# What each installs: `make run` only the runtime (`pip install -e .`); `make test` adds the
# test extras (pytest, mypy, ruff, dask, ccxt, pybit, ...) and the bench extras (hftbacktest,
# order-book), `make bench` the bench extras. The suite gets the bench extras too because
# hftbacktest's numba pins numpy: CI then has the numpy (and numpy type stubs, which mypy
# checks the tests against) of the development environment, where the benches run. Each
# install has its own stamp, named after pyproject.toml's checksum, so it is redone only when
# the dependency list changes.

# Found once (a simply expanded variable), quietly: a pyenv shim for a version that is not
# selected exists on PATH but fails when run.
ifeq ($(origin PYTHON), undefined)
PYTHON := $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 \
	&& $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 \
	&& { echo $$p; break; }; done)
endif
VENV := .venv
BIN := $(VENV)/bin
DEPS := $(shell cksum pyproject.toml | cut -d' ' -f1)
RUN_STAMP := $(VENV)/.installed-run-$(DEPS)
TEST_STAMP := $(VENV)/.installed-test-$(DEPS)
BENCH_STAMP := $(VENV)/.installed-bench-$(DEPS)
CONFIG ?= etc/asnd.toml

.PHONY: all run test lint typecheck pytest bench clean venv venv-test venv-bench

all: test

venv: $(RUN_STAMP)
venv-test: $(TEST_STAMP)
venv-bench: $(BENCH_STAMP)

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "error: Python 3.11 or newer is required (python3.11+ not found on PATH)" >&2; exit 1; }
	@echo "==> creating $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The runtime only: what `asnd run` needs. pip's progress stays visible (the long step).
$(RUN_STAMP): pyproject.toml | $(BIN)/python
	@echo "==> installing asn and its runtime dependencies into $(VENV)"
	$(BIN)/python -m pip install --progress-bar on -e .
	@rm -f $(VENV)/.installed-run-*
	@touch $@

$(TEST_STAMP): $(RUN_STAMP)
	@echo "==> installing the test and bench extras (pytest, mypy, ruff, dask, ccxt, pybit, hftbacktest)"
	$(BIN)/python -m pip install --progress-bar on -e '.[test,bench]'
	@rm -f $(VENV)/.installed-test-*
	@touch $@

$(BENCH_STAMP): $(RUN_STAMP)
	@echo "==> installing the bench extras (hftbacktest, order-book)"
	$(BIN)/python -m pip install --progress-bar on -e '.[bench]'
	@rm -f $(VENV)/.installed-bench-*
	@touch $@

run: venv
	@echo "==> starting asnd with $(CONFIG) (Ctrl-C stops it cleanly)"
	$(BIN)/asnd run --config $(CONFIG)

lint: venv-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv-test
	$(BIN)/mypy

# pytest exits 5 when it collected no tests; make treats any non-zero exit as failure, so an
# empty suite fails CI instead of passing silently.
# Two workers (pytest-xdist): most tests wait on subprocesses and sockets, not the CPU;
# worksteal keeps both busy when one draws the long process tests. TEST_WORKERS=0 runs serially.
TEST_WORKERS ?= 2
pytest: venv-test
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist worksteal

test: lint typecheck pytest

# Each bench/<name>.py prints JSON lines; run one with `.venv/bin/python -m bench.<name>`.
bench: venv-bench
	@for f in bench/*.py; do case $$f in */_*) continue;; esac; \
		$(BIN)/python -m bench.$$(basename $$f .py) || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build *.egg-info
