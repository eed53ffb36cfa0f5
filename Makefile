# Quan — the two commands: `make run` (try it) and `make test` (the whole suite); `make` alone
# lists every target (the `## make …` lines below).
.DEFAULT_GOAL := help
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help run test install lint typecheck unit clean

## make help: list the targets (the default goal)
help:
	@sed -n 's/^## make /make /p' $(MAKEFILE_LIST)

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Quan needs Python 3.11 or newer on PATH"; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Install: the locked dependencies (requirements/lock.txt: pinned, every file hashed), then
# Quan itself without resolving anything (--no-deps) and built by the locked setuptools.
LOCK := requirements/lock.txt
$(STAMP): pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

## make install: create .venv and install Quan with its test tools (again when pyproject.toml changes)
install: $(STAMP)

## make lock: re-resolve pyproject.toml's ranges into requirements/lock.txt (after any dependency change)
# uv is installed here from the hashed requirements/uv.txt. LOCK_ARGS=--upgrade moves every pin to the
# newest allowed.
.PHONY: lock
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/uv.txt
	$(BIN)/uv pip compile pyproject.toml requirements/build.in --extra test --universal \
		--python-version 3.11 --generate-hashes --quiet $(LOCK_ARGS) -o $(LOCK)
	@# What a server image needs (deploy/docker): the runtime dependencies alone, at the same pins.
	$(BIN)/uv pip compile pyproject.toml requirements/build.in --universal --python-version 3.11 \
		--generate-hashes --quiet -c $(LOCK) -o requirements/runtime.txt
	$(BIN)/uv pip compile requirements/uv.in --universal --python-version 3.11 \
		--generate-hashes --quiet $(LOCK_ARGS) -o requirements/uv.txt

## make run: install, migrate, seed the demo, serve on http://HOST:PORT (default 127.0.0.1:8000; SQLite under ./var/) with one worker
HOST ?= 127.0.0.1
PORT ?= 8000
run: install
	$(BIN)/quan db upgrade
	$(BIN)/quan demo seed --url http://$(HOST):$(PORT)
	@# The server and one worker (outbox relay, log sequencer, recycling, purge) together; Ctrl-C
	@# stops both (the trap kills the worker whichever way the server ends).
	@$(BIN)/quan worker & WORKER=$$!; trap 'kill $$WORKER 2>/dev/null; wait $$WORKER' EXIT INT TERM; \
		QUAN_EMBEDDED_SEQUENCER=false $(BIN)/quan serve --host $(HOST) --port $(PORT)

## make test: lint, type-check and run every test (PostgreSQL/Redis tests need QUAN_TEST_*_URL)
## TEST_WORKERS: pytest-xdist processes (each has its own PostgreSQL schema and SQLite files).
# Three even on two cores: much of the suite waits on PostgreSQL, served processes and the
# browser rather than computing, and a third process fills those waits.
TEST_WORKERS ?= 3
test: install lint typecheck
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --maxprocesses=4

## make mutants: remove each guard of tests/mutants/guards.toml in a copy of the tree; a test must fail
# Its tests run on SQLite and PostgreSQL; it fails if any mutant survives (the 61 entries take
# about an hour at -j 3 on a loaded 2-core machine, see docs/development.md). MUTANTS_ARGS passes
# options, e.g. MUTANTS_ARGS="--only grant-to-everyone" or "-j 3 --baseline".
.PHONY: mutants
mutants: install
	QUAN_TEST_POSTGRES_URL="$${QUAN_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test}" \
		$(BIN)/python -m tests.mutants.run $(MUTANTS_ARGS)

## make lint: ruff over src and tests
lint: install
	$(BIN)/ruff check src tests

## make typecheck: mypy --strict
typecheck: install
	$(BIN)/mypy

## make unit: the pure tests only (tests/unit, no database server needed)
unit: install
	$(BIN)/python -m pytest tests/unit

## make clean: remove .venv, var/ (the demo database!) and the tools' caches
clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache test-artifacts

## make bench: the benchmark suite → docs/benchmarks.md and bench/results/*.json.
## Needs wrk (installed here with apt-get when missing) and PostgreSQL (QUAN_BENCH_POSTGRES_URL,
## default postgresql://postgres@127.0.0.1:5432/postgres; started like .ci/run does when down).
## BENCH_ARGS passes options through, e.g. make bench BENCH_ARGS="--db sqlite --only health".
.PHONY: bench
bench: install
	@command -v wrk >/dev/null 2>&1 || { echo "wrk missing: installing it (apt-get install -y wrk)"; \
		apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y wrk >/dev/null 2>&1; } \
		|| echo "WARNING: could not install wrk; the suite falls back to the slower httpx load generator"; }
	@python3 -c 'import socket,sys; s=socket.socket(); s.settimeout(1); sys.exit(s.connect_ex(("127.0.0.1",5432))!=0)' \
		|| { echo "starting PostgreSQL"; pg_ctlcluster --skip-systemctl-redirect "$$(ls /etc/postgresql)" main start || true; sleep 3; }
	$(BIN)/quan bench suite $(BENCH_ARGS)
