# Two commands for a newcomer: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_SCENARIO := demo
DEMO_OUT := demo-result

.PHONY: demo test bench lint install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/allocator scenario demo --out $(DEMO_SCENARIO)
	$(BIN)/allocator solve $(DEMO_SCENARIO) --out $(DEMO_OUT)
	$(BIN)/allocator report $(DEMO_OUT) --html $(DEMO_OUT)/report.html
	@echo "Allocations: $(DEMO_OUT)/allocations.csv  Unserved: $(DEMO_OUT)/unserved.csv"
	@echo "Report (open in a browser, works offline): $(CURDIR)/$(DEMO_OUT)/report.html"

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m tests.bench

lint: $(STAMP)
	$(BIN)/ruff check allocator api scenarios tests data
	$(BIN)/mypy allocator api scenarios

clean:
	rm -rf $(VENV) $(DEMO_SCENARIO) $(DEMO_OUT) .bench .pytest_cache .mypy_cache .ruff_cache
