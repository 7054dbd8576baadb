# make dev   - install, then run the example app with the Workbench on http://localhost:3000
# make test  - install, then run every test
# make cloud - install, then serve template.yaml as AWS would run it (motia cloud: HTTP API :4000, WebSocket :4001)
# make web   - build the demo page clients/web/dist (npm ci from the lock file, esbuild); dev and test do it when node exists
# make wheel - build the motia-runtime wheel and sdist into dist/ (pip install it anywhere; README "Start your own app")
# make build - motia build: check template.yaml is current, write the function code and the two layers
#              (.aws-sam/app, .aws-sam/layers), bytecode, then sam validate --lint and sam build
# make bench - the benchmark suite (bench/README.md) against motia dev; bench-peer: Motia 0.17 beside it
# make chromium - apt-get install Debian's chromium for the browser tests if it is missing; test does it
# make redis - apt-get install Debian's redis-server for the Redis tests if it is missing; test does it
# make clean - remove everything make and the suite wrote that git ignores (venvs, builds, caches)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 3000
# The browser tests drive Debian's Chromium with pip playwright, which never downloads a browser.
CHROMIUM ?= /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
# aws-sam-cli pins boto3, pydantic and click to versions the runtime does not use: own venv.
SAM_VENV := .venv-sam
SAM_STAMP := $(SAM_VENV)/.installed
# The demo page: built (not committed) from the pinned package-lock.json, only where node and npm
# exist; without them motia dev still runs and /demo/ says how to build it.
WEB := clients/web
WEB_DIST := $(WEB)/dist/index.html
WEB_DEPS := $(WEB)/node_modules/.ci-stamp
ifneq ($(and $(shell command -v node 2>/dev/null),$(shell command -v npm 2>/dev/null),$(wildcard $(WEB)/package-lock.json)),)
WEB_BUILD := $(WEB_DIST)
endif

.PHONY: install dev cloud test lint check clean build web chromium redis bench bench-peer wheel

# uv (from PyPI) resolves and installs the ~190 packages of '.[dev]' in parallel: ~15 s on a clean
# machine where pip took ~3 minutes (bench/optimisations.md, issue 18.4); the same versions, and
# pip stays in the venv (tests/create builds wheels with it; `.venv/bin/pip install` still works).
# --compile-bytecode: the venv's .pyc written once at install, on both cores (~12 s wall for 10,866
# files), instead of by the first of the suite's ~4 workers and their subprocesses to import each
# module, which compiled the same modules side by side (a fresh clone's pytest: 251 → 232 s).
UV_PIP := $(BIN)/uv pip install --python $(BIN)/python
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q uv
	$(UV_PIP) --compile-bytecode --upgrade pip -e '.[dev]'
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

# CLOUD_ARGS: more flags, e.g. CLOUD_ARGS="--env OPENAI_API_KEY=sk-..." (docs/cloud-local.md)
CLOUD_PORT ?= 4000
cloud: $(STAMP)
	$(BIN)/motia cloud --port $(CLOUD_PORT) $(CLOUD_ARGS)

# The suite mostly waits (servers, stage pauses, sockets: ~30 % of a core when run serially), so it
# runs on four pytest-xdist workers on two cores (fresh clones, quiet machine: pytest 283 s at -n 3,
# 251 s at -n 4; with bytecode already written -n 5 was no faster than -n 4, 231 against 225 s),
# each test module whole on one (its module-scoped servers start once), the slowest modules handed
# out first (tests/support/slow_first.py; xdist's own reorder would put the modules with the most
# tests first). PYTEST_ARGS="-n 0" runs it in one process.
PYTEST_ARGS ?= -n 4 --dist loadscope --no-loadscope-reorder
# PYTHONDONTWRITEBYTECODE= (empty: unset, for the tests only): where a shell sets it, no .pyc was ever
# written (uv installs none, unlike pip), so every process the tests start (motia dev, motia cloud,
# CloudSim, the Lambda workers, the created projects' pytest) compiled moto, botocore, starlette and
# pydantic from source again. Now the first import writes them, in .venv and in the checkout's
# git-ignored __pycache__ folders (the venv's own are written at install, above). bench/RESULTS.md,
# issue 18.4, T6.
test: $(STAMP) $(SAM_STAMP) $(WEB_BUILD) chromium redis
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest $(PYTEST_ARGS)

# Outside CI, a machine without apt-get (or without network) still runs the other tests; the
# browser tests then skip and say why. In CI (CI set) a missing Chromium is an error.
chromium:
	@if [ -x "$(CHROMIUM)" ]; then exit 0; fi; \
	if command -v apt-get >/dev/null 2>&1; then \
	  echo "make: installing Debian's chromium for the browser tests (apt-get)"; \
	  if $(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; then exit 0; fi; \
	  reason="apt-get could not install chromium"; \
	else reason="apt-get is not available to install chromium"; fi; \
	if [ -n "$$CI" ]; then echo "make: error: $$reason; the browser tests need $(CHROMIUM)" >&2; exit 1; fi; \
	echo "make: warning: $$reason; the browser tests (tests/browser) will be skipped"

# The Redis tests (tests/redis) start throwaway redis-server processes of their own on free
# loopback ports; the package's system service is not used. Same rules as chromium above.
redis:
	@if command -v redis-server >/dev/null 2>&1; then exit 0; fi; \
	if command -v apt-get >/dev/null 2>&1; then \
	  echo "make: installing Debian's redis-server for the Redis tests (apt-get)"; \
	  if $(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server; then exit 0; fi; \
	  reason="apt-get could not install redis-server"; \
	else reason="apt-get is not available to install redis-server"; fi; \
	if [ -n "$$CI" ]; then echo "make: error: $$reason; the Redis tests need it" >&2; exit 1; fi; \
	echo "make: warning: $$reason; the Redis tests (tests/redis) will be skipped"

# The suite installs what it lacks itself: wrk (apt), the Node clients and the peer (npm, in a
# temporary folder, never in the repository). BENCH_ARGS passes options, e.g. BENCH_ARGS=--quick.
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(UV_PIP) -e '.[dev,bench]'
	touch $@

bench: $(BENCH_STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

bench-peer: $(BENCH_STAMP)
	$(BIN)/python bench/run.py --peer $(BENCH_ARGS)

# checkov (in its own venv: it pins boto3 and others) checks template.yaml; .checkov.yaml lists
# each skipped check with the reason it does not apply.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
$(CHECKOV_STAMP):
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install 'checkov>=3.2,<4'
	touch $(CHECKOV_STAMP)

# mypy: the package under --strict with pydantic's plugin ([tool.mypy] in pyproject.toml).
lint: $(STAMP) $(CHECKOV_STAMP)
	$(BIN)/ruff check layers tests functions streams
	$(BIN)/mypy
	$(CHECKOV_VENV)/bin/checkov -f template.yaml --skip-download  # offline: no Prisma Cloud guideline download

check: $(STAMP)
	$(BIN)/motia check

# uv (from the main venv) installs it in seconds (7.8 s with its cache warm) where pip took
# minutes, so make test builds it too and the SAM CLI's own checks run in CI (sam validate --lint,
# SAM's transform of the IAM roles, its route listing: tests/template/test_sam_cli.py and
# test_security.py; without .venv-sam they skip, and in CI they fail).
$(SAM_STAMP): $(STAMP)
	$(PYTHON) -m venv $(SAM_VENV)
	$(BIN)/uv pip install --python $(SAM_VENV)/bin/python --upgrade pip 'aws-sam-cli>=1.120,<2'
	touch $(SAM_STAMP)

# What motia build does for any project (docs/deploying.md); here with the SAM CLI of .venv-sam.
build: $(STAMP) $(SAM_STAMP)
	SAM_CLI_TELEMETRY=0 $(BIN)/motia build --sam $(SAM_VENV)/bin/sam

# pip's PEP 517 build (isolated, setuptools from the index); build/ is setuptools' scratch folder.
wheel: $(STAMP)
	$(BIN)/python -m build --outdir dist .
	rm -rf build

# Everything make and the suite write that git ignores: the three venvs, build and bench outputs,
# caches. Then the next make dev / make test starts as on a fresh clone.
clean:
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) .motia .aws-sam build dist tests/artifacts .pytest_cache \
		.ruff_cache .mypy_cache .schemathesis .hypothesis $(WEB)/dist $(WEB)/node_modules
	find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +
	find . -name '*.egg-info' -type d -prune -not -path './.git/*' -exec rm -rf {} +
