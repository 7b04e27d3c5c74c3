# warroom: make run (serve on SQLite), make test (lint + whole suite), make test-fast (inner loop)
# make run PORT=8080 HOST=127.0.0.1 CONFIG=path/to/warroom.toml
PY ?= python3
PORT ?= 8000
HOST ?= 127.0.0.1
CONFIG ?=
DOCS_PORT ?= 8001
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast lint docs docs-build reference format clean bench sanitize

$(STAMP): pyproject.toml setup.py src/warroom/triage/_scan.c
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# The stamp makes a second `make run` start at once: pip runs only when pyproject.toml,
# setup.py or the C scanner changed. The database: `warroom db status` (docs/configuration.md).
run: install
	$(BIN)/warroom serve --host $(HOST) --port $(PORT) $(if $(CONFIG),--config $(CONFIG))

# Every check runs, then lint fails if any did: one run shows all that is wrong.
# lint-imports: the layers in pyproject.toml [tool.importlinter]; vulture: dead code.
lint: install
	@status=0; \
	for check in "ruff check src tests bench" "ruff format --check src tests bench" "mypy" \
	             "lint-imports --no-cache" "vulture"; do \
	  echo "$(BIN)/$$check"; $(BIN)/$$check || status=1; \
	done; \
	exit $$status

test: install lint docs-build
	$(BIN)/python -m pytest -q

# The documentation site (MkDocs): docs-build fails on a broken link or a page not in the nav.
docs: install
	$(BIN)/mkdocs serve -a 127.0.0.1:$(DOCS_PORT)

docs-build: install
	$(BIN)/mkdocs build --strict --quiet -d $(VENV)/site

# docs/cli.md from the commands, docs/api.md from the OpenAPI (tests/test_docs_site.py checks
# that both are current).
reference: install
	$(BIN)/python -m warroom.cli.reference > docs/cli.md
	$(BIN)/python -m warroom.web.reference > docs/api.md

# The inner loop: SQLite only, no Chromium, nothing marked slow (see tests/conftest.py).
# make test-fast ARGS="-x tests/test_triage_report.py"
test-fast: install
	$(BIN)/python -m pytest -q -m "not postgres and not chromium and not slow" $(ARGS)

format: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

# The compiled scanner built with AddressSanitizer and UBSan (a copy of src, nothing installed
# is touched) and the triage tests run against it: any overflow or undefined behaviour aborts.
SAN := build/sanitize
SAN_CC ?= gcc
SAN_TESTS ?= tests/test_triage_native.py tests/test_triage_parse.py tests/test_triage_report.py \
	tests/test_triage_cli.py tests/test_triage_onset.py tests/test_triage_signatures.py
sanitize: install
	rm -rf $(SAN) && mkdir -p $(SAN) && cp -r src $(SAN)/src
	rm -f $(SAN)/src/warroom/triage/_scan*.so
	$(SAN_CC) -shared -fPIC -std=c99 -O1 -g -fno-omit-frame-pointer \
	  -fsanitize=address,undefined -fno-sanitize-recover=all \
	  $$($(BIN)/python -c 'import sysconfig; print("-I" + sysconfig.get_paths()["include"])') \
	  src/warroom/triage/_scan.c \
	  -o $(SAN)/src/warroom/triage/_scan$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
	export PYTHONPATH=$(SAN)/src PYTHONMALLOC=malloc \
	  LD_PRELOAD="$$($(SAN_CC) -print-file-name=libasan.so) $$($(SAN_CC) -print-file-name=libubsan.so)" \
	  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1; \
	$(BIN)/python -c 'from warroom.triage import _scan, native; \
	  assert "$(SAN)" in _scan.__file__ and native.available(), _scan.__file__; \
	  print("sanitized scanner:", _scan.__file__)' && \
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not postgres and not chromium" $(SAN_TESTS)

bench: install
	$(BIN)/python bench/triage_bench.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
