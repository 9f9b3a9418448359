# The README's commands. Each creates .venv on first use and reinstalls when pyproject.toml changes:
# `make run` and `make cli` install only what running needs, the test targets add the test extras.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed

.PHONY: run cli test test-fast clean chromium bytecode bench bench-tools screenshots drift-example

$(RUN_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUN_STAMP)

$(STAMP): pyproject.toml $(RUN_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The project's own modules compiled to bytecode, as pip does for a regular install but not for
# an editable one. Without it, where PYTHONDONTWRITEBYTECODE is set (many CI images and
# containers), every start compiles ~85 modules again: 0.17 s of a 1 s cold start
# (docs/benchmarks.md). Quick when up to date (it compares each module's mtime).
bytecode: $(RUN_STAMP)
	@$(BIN)/python -m compileall -q mock_server fixtures contract_tests

run: $(RUN_STAMP) bytecode
	$(BIN)/altoviz-mock serve $(ARGS)

# Any command of the CLI without activating .venv: make cli ARGS='trigger InvoiceUpdated'
cli: $(RUN_STAMP) bytecode
	$(BIN)/altoviz-mock $(ARGS)

# Two workers (pytest-xdist), a test file per worker at a time (its module fixtures shared); set
# PYTEST_WORKERS=0 to run in one process.
PYTEST_WORKERS ?= 2
XDIST = $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadfile)

test: $(STAMP) bytecode chromium
	$(BIN)/python -m pytest $(XDIST) $(PYTEST_ARGS)

# The behaviour tests without the slow ones (marked `slow`: real server processes, long loops,
# big PDFs, the browser) nor the Schemathesis suites of contract_tests/. They share an in-process
# app per worker, reset before each test (tests/conftest.py).
test-fast: $(STAMP) bytecode
	$(BIN)/python -m pytest tests -m "not slow" $(XDIST) $(PYTEST_ARGS)

# The API page's browser test (tests/test_api_page.py) opens /ui/ in Debian's chromium: installed
# here when missing and we may (root, apt-get); otherwise that one test is skipped and says why.
chromium:
	@command -v chromium >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser test of /ui/ ..."; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 || \
	  { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1; } || \
	  echo "chromium could not be installed: the browser test will be skipped"; }

# Benchmarks (docs/benchmarks.md): the sandbox side by side with Prism under wrk, growth, cold
# start, reset, a py-spy profile, then the store's own benchmark. The tools come from the
# project's files: the `bench` extra (py-spy), Debian's wrk (if root with apt-get; otherwise the
# Python load generator is used) and Prism from npm into bench/.prism. BENCH_ARGS passes options.
BENCH_STAMP := $(VENV)/.installed-bench
PRISM := bench/.prism/node_modules/.bin/prism

$(BENCH_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

bench-tools:
	@command -v wrk >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1 || { \
	  echo "Installing Debian's wrk ..."; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -qq wrk >/dev/null 2>&1 || \
	  { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq wrk >/dev/null 2>&1; } || \
	  echo "wrk could not be installed: the Python load generator will be used"; }
	@test -x $(PRISM) || { echo "Installing Prism 5 into bench/.prism ..."; \
	  npm install --silent --no-audit --no-fund --prefix bench/.prism @stoplight/prism-cli@5; }

bench: $(BENCH_STAMP) bytecode bench-tools
	$(BIN)/python bench/http_bench.py --write-docs $(BENCH_ARGS)
	$(BIN)/python bench/store_growth.py --write-docs

# The dashboard's screenshots (README "Dashboard"): a PNG per page into docs/dashboard/, taken by
# Debian's chromium through Playwright from a sandbox started in memory.
screenshots: $(STAMP) chromium
	$(BIN)/python docs/dashboard/make_screenshots.py

# docs/drift-example.md and the README's drift sample from a real run of `altoviz-mock drift`
# against the vendor's published spec, a file the repository never holds: make drift-example SPEC=FILE
drift-example: $(RUN_STAMP)
	$(BIN)/python docs/make_drift_example.py $(SPEC)

clean:
	rm -rf $(VENV) .altoviz-mock .pytest_cache
