# make dev   - install, then run the example app with the Workbench on http://localhost:3000
# make test  - install, then run every test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 3000

.PHONY: install dev test lint check clean

$(STAMP): pyproject.toml layers/motia_runtime/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

dev: $(STAMP)
	$(BIN)/motia dev --port $(PORT)

test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check layers tests functions streams

check: $(STAMP)
	$(BIN)/motia check

clean:
	rm -rf $(VENV) .motia .pytest_cache
