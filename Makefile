# make dev   - install, then run the example app with the Workbench on http://localhost:3000
# make test  - install, then run every test
# make web   - build the demo page clients/web/dist (npm ci from the lock file, esbuild); dev and test do it when node exists
# make build - check template.yaml is current, assemble .aws-sam/app, sam validate --lint, sam build
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 3000
# aws-sam-cli pins boto3, pydantic and click to versions the runtime does not use: own venv.
SAM_VENV := .venv-sam
SAM := SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam
SAM_STAMP := $(SAM_VENV)/.installed
# The demo page: built (not committed) from the pinned package-lock.json, only where node and npm
# exist; without them motia dev still runs and /demo/ says how to build it.
WEB := clients/web
WEB_DIST := $(WEB)/dist/index.html
WEB_DEPS := $(WEB)/node_modules/.ci-stamp
ifneq ($(and $(shell command -v node 2>/dev/null),$(shell command -v npm 2>/dev/null),$(wildcard $(WEB)/package-lock.json)),)
WEB_BUILD := $(WEB_DIST)
endif

.PHONY: install dev test lint check clean build web

$(STAMP): pyproject.toml layers/motia_runtime/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

$(WEB_DEPS): $(WEB)/package-lock.json
	cd $(WEB) && npm ci --no-audit --no-fund
	touch $@

$(WEB_DIST): $(WEB_DEPS) $(WEB)/build.mjs $(wildcard $(WEB)/src/* $(WEB)/public/*)
	cd $(WEB) && npm run build

web: $(WEB_BUILD)
	@$(if $(WEB_BUILD),true,echo "make web: node/npm or $(WEB)/package-lock.json missing; skipped")

dev: $(STAMP) $(WEB_BUILD)
	$(BIN)/motia dev --port $(PORT)

test: $(STAMP) $(WEB_BUILD)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check layers tests functions streams

check: $(STAMP)
	$(BIN)/motia check

$(SAM_STAMP):
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --upgrade pip
	$(SAM_VENV)/bin/pip install 'aws-sam-cli>=1.120,<2'
	touch $(SAM_STAMP)

build: $(STAMP) $(SAM_STAMP)
	$(BIN)/motia generate --check
	$(BIN)/python -m motia_runtime.tools.bundle
	$(SAM) validate --lint
	$(SAM) build

clean:
	rm -rf $(VENV) .motia .pytest_cache $(WEB)/dist $(WEB)/node_modules
