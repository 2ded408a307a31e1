# Two commands for a newcomer: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO := demo

.PHONY: demo serve test bench bench-service bench-decide lint install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# A round on the bundled Ho Chi Minh City scenario in a fresh SQLite store (demo/allocator.db).
demo: $(STAMP)
	$(BIN)/allocator demo --folder $(DEMO)

# The web pages over the demo's store: http://127.0.0.1:8000/login
serve: $(STAMP)
	DATABASE_URL=sqlite:///$(CURDIR)/$(DEMO)/allocator.db $(BIN)/allocator serve

# Two worker processes, each taking whole files (module fixtures are built once per file).
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

bench: $(STAMP)
	$(BIN)/python -m tests.bench

# The service under load and the cost of large imports (needs TEST_POSTGRES_URL for PostgreSQL).
bench-service: $(STAMP)
	$(BIN)/python -m tests.bench.service_section

# Budget curves and bottlenecks as planners run them (section "Decision support").
bench-decide: $(STAMP)
	$(BIN)/python -m tests.bench.decide

lint: $(STAMP)
	$(BIN)/ruff check allocator api scenarios tests data
	$(BIN)/mypy allocator api scenarios

clean:
	rm -rf $(VENV) $(DEMO) .bench .pytest_cache .mypy_cache .ruff_cache tests/output
