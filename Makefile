# The two commands of the README: `make demo` and `make test`. Each creates the
# virtual environment from the project's own files when it is missing or stale.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Every dependency, dev tools and the build backend included, pinned with hashes: what a
# fresh clone installs is exactly what CI tested. `make lock` is the one way to move it.
LOCK := requirements/lock.txt
# The resolver used to write the lock (only `make lock` needs it; installs use plain pip).
UV_VERSION := 0.13.9
LOCK_TOOLS := .venv-lock

.PHONY: demo test lint bench lock clean

$(STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	@# A stale environment is rebuilt from nothing, so it holds the lock and nothing else.
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	@touch $(STAMP)

demo: $(STAMP)
	rm -rf demo.db demo.db-wal demo.db-shm demo-reports
	$(BIN)/outcomeledger --db demo.db demo --reports demo-reports

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/run.py

# Upgrading is deliberate: resolve every dependency again at the newest versions that
# pyproject.toml allows, rewrite the lock, rebuild the environment from it and run the suite.
lock:
	$(PYTHON) -m venv $(LOCK_TOOLS)
	$(LOCK_TOOLS)/bin/python -m pip install --quiet uv==$(UV_VERSION)
	$(LOCK_TOOLS)/bin/uv pip compile --quiet --upgrade --universal --python-version 3.11 \
		--generate-hashes --extra dev --extra serve --custom-compile-command "make lock" \
		pyproject.toml requirements/build.in -o $(LOCK)
	$(MAKE) test

clean:
	rm -rf $(VENV) $(LOCK_TOOLS) demo.db demo.db-wal demo.db-shm demo-reports .pytest_cache .mypy_cache .ruff_cache
