# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test generate lint typecheck pytest services bench mutation clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py $(ARGS)

# The blocking API is generated from the async source (docs/architecture.md).
generate: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python scripts/gen_sync.py

lint: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python scripts/gen_sync.py --check
	$(BIN)/ruff check src compat tests examples benchmarks scripts
	$(BIN)/ruff format --check src compat tests examples benchmarks scripts

typecheck: $(STAMP)
	$(BIN)/mypy

# The store tests start their own Postgres and Redis (tests/_servers.py). Install the
# Debian packages only when a binary is missing: apt would otherwise upgrade them.
# With THREADLINE_TEST_POSTGRES_URL / THREADLINE_TEST_REDIS_URL set, yours are used.
services:
	@need=""; \
	if [ -z "$$THREADLINE_TEST_POSTGRES_URL" ] && \
	   ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then need="$$need postgresql"; fi; \
	if [ -z "$$THREADLINE_TEST_REDIS_URL" ] && \
	   ! command -v redis-server >/dev/null 2>&1; then need="$$need redis-server"; fi; \
	if [ -n "$$need" ]; then \
		echo "make services: installing$$need"; \
		sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
		$$sudo apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q --no-install-recommends $$need; \
	fi

# pytest exits 5 when it collected no tests: say so, and fail like any other failure.
pytest: $(STAMP) services
	@$(BIN)/pytest -q; status=$$?; \
	if [ $$status -eq 5 ]; then echo "make: pytest collected no tests" >&2; fi; \
	exit $$status

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet "openai-agents>=0.3"
	$(BIN)/python benchmarks/store_bench.py
	$(BIN)/python benchmarks/overhead_bench.py

# Mutation testing of the core (scripts/mutation.py): by hand, not in CI; installs mutmut.
# MODULES="_retry.py stores/_memory_async.py" limits the run to those modules.
mutation: $(STAMP)
	$(BIN)/python scripts/mutation.py $(foreach m,$(MODULES),--module $(m)) $(ARGS)

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
