# warroom: make run (serve on SQLite), make test (lint + whole suite), make test-fast (inner loop)
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast lint format clean bench

$(STAMP): pyproject.toml setup.py src/warroom/triage/_scan.c
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/warroom serve --host 127.0.0.1 --port 8000

# Every check runs, then lint fails if any did: one run shows all that is wrong.
# lint-imports: the layers in pyproject.toml [tool.importlinter]; vulture: dead code.
lint: install
	@status=0; \
	for check in "ruff check src tests bench" "ruff format --check src tests bench" "mypy" \
	             "lint-imports --no-cache" "vulture"; do \
	  echo "$(BIN)/$$check"; $(BIN)/$$check || status=1; \
	done; \
	exit $$status

test: install lint
	$(BIN)/python -m pytest -q

# The inner loop: SQLite only, no Chromium, nothing marked slow (see tests/conftest.py).
# make test-fast ARGS="-x tests/test_triage_report.py"
test-fast: install
	$(BIN)/python -m pytest -q -m "not postgres and not chromium and not slow" $(ARGS)

format: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: install
	$(BIN)/python bench/triage_bench.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
