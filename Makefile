# The two commands: `make run` (local sandbox) and `make test` (lint, types, tests).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
PYTHON_IS_312 := -c 'import sys; assert sys.version_info[:2] == (3, 12)'

# A Python 3.12 interpreter: python3.12 on PATH if it runs, else one from pyenv (by path: the
# bare pyenv shim refuses to run unless PYENV_VERSION names a version). Looked for only when a
# venv is to be made (pyenv is slow to ask); `make PYTHON312=/path/to/python3.12` skips the search.
PYTHON312 ?=
FIND_PYTHON312 = \
	if python3.12 $(PYTHON_IS_312) >/dev/null 2>&1; then command -v python3.12; \
	elif command -v pyenv >/dev/null 2>&1; then \
	  for v in $$(pyenv versions --bare 2>/dev/null | grep -E '^3\.12(\.[0-9]+)?$$' | sort -t. -k3 -n -r); do \
	    p="$$(pyenv root)/versions/$$v/bin/python3.12"; [ -x "$$p" ] && { echo "$$p"; break; }; done; \
	fi

# Each requirements file is installed once, and again when it (or a file it includes) changes:
# `make run` installs only the sandbox's, `make test` everything, `make package` the deployment's.
define install
	@set -o pipefail; \
	fresh() { [ -f $(VENV)/.installed-$$1 ] && [ -z "$$(find requirements*.txt -newer $(VENV)/.installed-$$1)" ]; }; \
	if ! fresh $(1) && ! fresh dev; then \
	  echo "==> Installing $(2) into $(VENV): $(3)"; \
	  $(PY) -m pip install --disable-pip-version-check -r $(2) \
	    | { grep -v -E '^ *(Requirement already satisfied|Using cached)' || true; } || exit 1; \
	  touch $(VENV)/.installed-$(1); echo "==> Installed $(2)"; \
	fi
endef

.PHONY: help venv install install-sandbox install-deploy chromium client-generators run test lint \
	typecheck unit fuzz bench load mutate clean package deploy resources cfn-lint

help:
	@echo "make run    start the local sandbox (moto AWS, API with real Cognito checks); FRESH=1 starts empty"
	@echo "make test   lint, type checks and all tests"
	@echo "make fuzz   schemathesis against a fresh sandbox for FUZZ_SECONDS (600) per caller"
	@echo "make bench  run the benchmarks under benchmarks/"
	@echo "make load   60 s of 16 devices' mixed load against a fresh sandbox, then the invariants (LOAD_ARGS)"
	@echo "make mutate mutation testing of the modules that carry the API's promises (TESTING.md)"
	@echo "make package STAGE=prod    chalice package with infra/ merged in, then checks (build/STAGE/)"
	@echo "make deploy STAGE=prod     package, deploy the stack, publish the site, pre-warm"
	@echo "make resources STAGE=dev   the resources stack for chalice deploy; fills .chalice/config.json"
	@echo "make cfn-lint STAGE=prod   cfn-lint on infra/resources.yaml and the built templates"

# The venv, made by a Python 3.12; one made by another Python (or whose Python is gone) is rebuilt.
venv:
	@if [ -e $(VENV) ] && ! $(PY) $(PYTHON_IS_312) >/dev/null 2>&1; then \
	  echo "==> $(VENV) was made by $$($(PY) -V 2>&1 | head -1 || true), not Python 3.12: rebuilding it"; \
	  rm -rf $(VENV); fi
	@if [ ! -x $(PY) ]; then \
	  python312="$(PYTHON312)"; [ -n "$$python312" ] || python312="$$($(FIND_PYTHON312))"; \
	  if [ -z "$$python312" ]; then \
	    echo "error: Python 3.12 is required (the Lambda runtime follows the local Python)." >&2; \
	    echo "Install it, e.g. 'pyenv install 3.12' or your system's python3.12 package, or pass PYTHON312=/path/to/python3.12." >&2; \
	    exit 1; fi; \
	  if ! "$$python312" $(PYTHON_IS_312) >/dev/null 2>&1; then \
	    echo "error: PYTHON312=$$python312 is $$("$$python312" -V 2>&1 | head -1), not Python 3.12." >&2; \
	    echo "Pass PYTHON312=/path/to/python3.12, or leave it unset to find one on PATH or in pyenv." >&2; \
	    exit 1; fi; \
	  echo "==> Creating $(VENV) with $$python312 ($$("$$python312" -V 2>&1))"; \
	  "$$python312" -m venv $(VENV) || { rm -rf $(VENV); exit 1; }; \
	  $(PY) -m pip install --disable-pip-version-check --quiet --upgrade "pip<26.3"; \
	fi

install-sandbox: venv
	$(call install,sandbox,requirements-sandbox.txt,what make run needs)

install-deploy: venv
	$(call install,deploy,requirements-deploy.txt,what make package and deploy need)

install: venv
	$(call install,dev,requirements-dev.txt,everything make test needs)

# The browser tests drive Debian's Chromium through Playwright (never `playwright install`).
# Without it they fail under CI (CI set, as CI services do) and are skipped elsewhere.
chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	elif [ -n "$$CI" ] && [ "$$CI" != 0 ] && [ "$$CI" != false ] && [ "$$CI" != no ]; then \
	  echo "error: /usr/bin/chromium is missing and this is not root: under CI the browser tests must run (apt-get install chromium)" >&2; exit 1; \
	else echo "warning: /usr/bin/chromium is missing (apt-get install chromium as root); the browser tests will be skipped here, and fail under CI" >&2; fi

# The TypeScript client generator and compiler that tests/test_client_generators.py runs, from
# the committed lock (npm ci: the npm registry only), again when the lock changes.
GENERATORS := tools/clients
client-generators:
	@command -v npm >/dev/null 2>&1 || { \
	  echo "error: npm (Node.js 18 or later) is needed for the client-generator tests" >&2; exit 1; }
	@if [ ! -f $(GENERATORS)/node_modules/.installed ] \
	    || [ $(GENERATORS)/package-lock.json -nt $(GENERATORS)/node_modules/.installed ]; then \
	  echo "==> Installing the client generators into $(GENERATORS)/node_modules (npm ci)"; \
	  npm ci --prefix $(GENERATORS) --ignore-scripts --no-audit --no-fund --loglevel=error \
	    && touch $(GENERATORS)/node_modules/.installed; \
	fi

# FRESH=1 deletes the state saved by the last run first.
run: install-sandbox
	$(PY) -m sandbox run $(if $(FRESH),--fresh)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: install
	$(VENV)/bin/mypy

unit: install chromium client-generators
	$(VENV)/bin/pytest -n 2

test: lint typecheck unit

# The long schemathesis run against a fresh sandbox (make test runs 30 s per caller);
# FUZZ_SECONDS per caller (user, editor, no auth), FUZZ_SEED to explore elsewhere.
FUZZ_SECONDS ?= 600
fuzz: install
	FUZZ_SECONDS=$(FUZZ_SECONDS) $(VENV)/bin/pytest -s -p no:xdist tests/test_fuzz.py

bench: install
	$(PY) benchmarks/cold_start.py
	$(PY) benchmarks/thumbnails.py
	$(PY) benchmarks/posts_cache.py
	$(PY) benchmarks/offline_sync.py
	$(PY) benchmarks/signup_timing.py

# A bounded mixed workload (benchmarks/load.py) against a sandbox of its own on free ports, then
# DESIGN.md's invariants; LOAD_ARGS="--seconds 20 --seed 7 --sandbox-dir .sandbox" and so on.
LOAD_ARGS ?=
load: install
	$(PY) -m benchmarks.load $(LOAD_ARGS)

# Mutation testing (TESTING.md): mutmut on the modules in pyproject.toml's [tool.mutmut], each
# mutant against the fast tests that reach it; then the score per module, and a failure for any
# surviving mutant that TESTING.md does not explain. mutants/ is its incremental cache: a rerun
# tests only the mutants of functions that changed. MUTATE_JOBS workers (default 2).
MUTATE_JOBS ?= 2
mutate: install
	@fresh() { [ -f $(VENV)/.installed-mutate ] && [ -z "$$(find requirements*.txt -newer $(VENV)/.installed-mutate)" ]; }; \
	if ! fresh; then \
	  echo "==> Installing requirements-mutate.txt into $(VENV): mutmut"; \
	  $(PY) -m pip install --disable-pip-version-check --quiet -r requirements-mutate.txt || exit 1; \
	  touch $(VENV)/.installed-mutate; fi
	$(VENV)/bin/mutmut run --max-children $(MUTATE_JOBS)
	$(PY) -m tools.mutation_report

clean:
	rm -rf $(VENV) .sandbox mutants .mypy_cache .ruff_cache .pytest_cache $(GENERATORS)/node_modules

# Deployment (README, "Deploy"). STAGE is the Chalice stage; MAIL_SENDER the blog's sender
# (needed on a stage's first deploy); PARAMS template parameters, e.g.
# PARAMS="TableBillingMode=PROVISIONED AlarmEmail=ops@example.com".
STAGE ?= dev
MAIL_SENDER ?=
PARAMS ?=
DEPLOY_ARGS = --stage $(STAGE) $(if $(MAIL_SENDER),--mail-sender $(MAIL_SENDER)) \
	$(foreach p,$(PARAMS),--parameter $(p))

package: install-deploy
	$(PY) -m deploy package --stage $(STAGE)

deploy: package
	$(PY) -m deploy deploy $(DEPLOY_ARGS)

resources: install-deploy
	$(PY) -m deploy resources $(DEPLOY_ARGS)

cfn-lint: install
	$(PY) -m deploy lint --stage $(STAGE)
