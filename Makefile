# Two commands from a fresh machine: `make demo` and `make test` (`make test-fast` while editing).
# Both create .venv on first use (Python 3.10+ and pip are all they need).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: demo test test-fast lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# the service on 127.0.0.1:8080 replaying a week of a real model going wrong, then the dashboard until Ctrl-C;
# ARGS="--port 9000 --once" passes options on (argus demo --help)
demo: $(STAMP)
	$(BIN)/argus demo $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports

# each file's tests on one worker in their order (module fixtures, the doc examples' workspace). Three workers
# on two cores: the tests that wait on real services, real-time windows and child processes (the game day,
# Prometheus, kill -9, the demo) leave a core idle that a third worker fills (the suite: 590-620 s on two
# workers, 497 s on three, 2026-12-07)
test: lint
	$(BIN)/python -m pytest -n 3 --dist loadfile

# the pure layers (schema, stats, profile, checks, reports) and their doctests, in under a minute: no test
# marked service (a running monitor, the app, a server) or slow (real processes, Prometheus, Chromium, kill -9)
FAST_PATHS := tests src/argusml/schema src/argusml/stats src/argusml/profile src/argusml/checks src/argusml/reports
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not service" $(FAST_PATHS)

bench: $(STAMP)
	$(BIN)/python bench/run_bench.py

clean:
	rm -rf $(VENV) argus-demo argus-data .pytest_cache .ruff_cache
