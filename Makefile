# rollout-gates: `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
KERNEL := rollout-gates
CI_DB_URL ?= postgresql://postgres@127.0.0.1:5432/test
BENCH_ARGS ?=

.PHONY: help install demo test test-db lint format bench oc clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python ($(KERNEL))"
	touch $@

install: $(INSTALLED)  ## create .venv, install the package and its Jupyter kernel

demo: $(INSTALLED)  ## simulate rollouts on the embedded Postgres, run the gates, write the evidence
	$(BIN)/rollout-gates demo

test: $(INSTALLED)  ## lint, then the test suite against the embedded Postgres
	$(BIN)/ruff check lib tests benchmarks
	$(BIN)/ruff format --check lib tests benchmarks
	$(BIN)/pytest

test-db: $(INSTALLED)  ## the database tests against the Postgres 15 service (CI)
	ROLLOUT_TEST_DB_URL=$(CI_DB_URL) $(BIN)/pytest -m db

bench: $(INSTALLED)  ## start-up vs papermill; gate cost at 1x, 10x, 100x events/h in 10M rows (not in `make test`; ~50 min); BENCH_ARGS=--quick to try it
	cd benchmarks && ../$(BIN)/python bench.py $(BENCH_ARGS)

oc: $(INSTALLED)  ## operating characteristics of the rate rules, for docs/statistics.md (not in `make test`; ~15 min on 2 cores)
	cd benchmarks && ../$(BIN)/python operating_characteristics.py $(OC_ARGS)

lint: $(INSTALLED)  ## ruff
	$(BIN)/ruff check lib tests benchmarks

format: $(INSTALLED)  ## ruff format
	$(BIN)/ruff format lib tests benchmarks

clean:  ## stop the embedded server this install started, remove the virtual environment and the evidence
	-@test -x $(BIN)/rollout-gates && $(BIN)/rollout-gates db stop --only-this-install
	rm -rf $(VENV) outputs/*/ lib/*.egg-info
