# Quan — the two commands: `make run` (try it) and `make test` (the whole suite).
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install lint typecheck unit serve clean

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Quan needs Python 3.11 or newer on PATH"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

## make run: install, migrate, seed the demo, serve on http://127.0.0.1:8000 (SQLite under ./var/)
run: install
	$(BIN)/quan db upgrade
	$(BIN)/quan demo seed
	$(BIN)/quan serve

## make test: lint, type-check and run every test (PostgreSQL/Redis tests need QUAN_TEST_*_URL)
## TEST_WORKERS: pytest-xdist processes (each has its own PostgreSQL schema and SQLite files).
TEST_WORKERS ?= auto
test: install lint typecheck
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --maxprocesses=4

## make mutants: plant each guard's removal (tests/mutants/guards.toml) in a temporary copy of
## the tree and run its tests on SQLite and PostgreSQL; fails if any mutant survives.
## MUTANTS_ARGS passes options through, e.g. make mutants MUTANTS_ARGS="--only grant-to-everyone".
.PHONY: mutants
mutants: install
	QUAN_TEST_POSTGRES_URL="$${QUAN_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test}" \
		$(BIN)/python -m tests.mutants.run $(MUTANTS_ARGS)

lint: install
	$(BIN)/ruff check src tests

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/python -m pytest tests/unit

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache test-artifacts

## make bench: the benchmark suite (issue 7) → docs/benchmarks.md and bench/results/*.json.
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
