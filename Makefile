# Vouch. `make run` and `make test` do everything on a fresh machine with Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
PYTEST_ARGS ?=
# Test processes (pytest-xdist): one per core. Each has its own database, Redis prefix and ports.
TEST_WORKERS ?= auto
BENCH_ARGS ?=

.PHONY: run test fuzz chromium screenshots test-embedded test-services schema lint bench-tracker bench-ingest bench-export bench-disclosure bench-api bench-discovery bench-capacity bench-analytics soak clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

run: $(STAMP)
	$(BIN)/vouch run

# The browser tests drive Debian's chromium (a browser build that downloads itself cannot be
# fetched here): installed when missing, as root with apt-get; if it cannot be, they skip.
CHROMIUM := /usr/bin/chromium
chromium:
	@if [ ! -x $(CHROMIUM) ] && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "installing chromium for the browser tests (apt-get)"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -qq chromium >/dev/null 2>&1 \
			|| { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1; } \
			|| echo "chromium could not be installed: the browser tests will skip"; \
	fi

# The suite on the embedded defaults (SQLite file, Redis started by the tests), then again on
# PostgreSQL + Redis when TEST_DATABASE_URL / TEST_REDIS_URL are set. pytest fails a run that
# collects no test (exit 5), so an empty run cannot pass.
test: $(STAMP) chromium
	env -u TEST_DATABASE_URL -u TEST_REDIS_URL -u DATABASE_URL -u REDIS_URL -u REDIS_CLUSTER_URL \
		$(BIN)/pytest -q -p no:cacheprovider -n $(TEST_WORKERS) $(PYTEST_ARGS)
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== again on $$TEST_DATABASE_URL and $${TEST_REDIS_URL:-a test-started Redis} =="; \
		env -u DATABASE_URL -u REDIS_URL $(BIN)/pytest -q -p no:cacheprovider -n $(TEST_WORKERS) $(PYTEST_ARGS); \
	fi

# A PNG of each page (desktop and phone widths) under var/screenshots/, from the browser tests.
screenshots: $(STAMP) chromium
	env -u TEST_DATABASE_URL -u DATABASE_URL SCREENSHOTS=$(CURDIR)/var/screenshots \
		$(BIN)/pytest -q -p no:cacheprovider tests/browser/test_pages.py \
		"tests/test_readme.py::test_a_fresh_runs_campaign_reports_chart_months_of_demo_data"

schema: $(STAMP)
	$(BIN)/vouch schema --output schema.graphql

# The GraphQL endpoint fuzzed from its schema for longer than the suite's short run
# (FUZZ_EXAMPLES documents per operation; on PostgreSQL too when TEST_DATABASE_URL is set).
FUZZ_EXAMPLES ?= 200
fuzz: $(STAMP)
	env -u TEST_DATABASE_URL -u DATABASE_URL FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) \
		$(BIN)/pytest -q -p no:cacheprovider tests/test_fuzz.py
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		env -u DATABASE_URL FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) \
			$(BIN)/pytest -q -p no:cacheprovider tests/test_fuzz.py; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy api tracker

bench-tracker: $(STAMP)
	$(BIN)/python bench/tracker.py $(BENCH_ARGS)

bench-ingest: $(STAMP)
	$(BIN)/python bench/ingest.py $(BENCH_ARGS)

bench-export: $(STAMP)
	$(BIN)/python bench/export.py $(BENCH_ARGS)

bench-api: $(STAMP)
	$(BIN)/python bench/api.py $(BENCH_ARGS)

bench-disclosure: $(STAMP)
	$(BIN)/python bench/disclosure.py $(BENCH_ARGS)

bench-discovery: $(STAMP)
	$(BIN)/python bench/discovery.py $(BENCH_ARGS)

bench-capacity: $(STAMP)
	$(BIN)/python bench/capacity.py $(BENCH_ARGS)

bench-analytics: $(STAMP)
	$(BIN)/python bench/analytics.py $(BENCH_ARGS)

# Many of everything, with faults (bench/soak.py): a Redis Cluster of 3 masters + 3 replicas, 2
# trackers, 2 workers and the API on a fresh PostgreSQL database, 3 minutes by default
# (BENCH_ARGS="--duration 60"); it kills, fails over, restarts and pauses, then checks every count.
soak: $(STAMP)
	$(BIN)/python bench/soak.py $(BENCH_ARGS)

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
