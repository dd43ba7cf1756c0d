# The two commands: `make run` (local sandbox) and `make test` (lint, types, tests).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# A Python 3.12 interpreter: python3.12 on PATH if it runs, else one from pyenv.
PYTHON312 ?= $(shell \
	if python3.12 -c 'import sys; assert sys.version_info[:2] == (3, 12)' >/dev/null 2>&1; then command -v python3.12; \
	elif command -v pyenv >/dev/null 2>&1; then \
	  for v in $$(pyenv versions --bare 2>/dev/null | grep -E '^3\.12(\.[0-9]+)?$$' | sort -t. -k3 -n -r); do \
	    p="$$(pyenv root)/versions/$$v/bin/python3.12"; [ -x "$$p" ] && { echo "$$p"; break; }; done; \
	fi)

.PHONY: help venv install chromium run test lint typecheck unit bench clean package deploy resources cfn-lint

help:
	@echo "make run    start the local sandbox (moto AWS, API with real Cognito checks)"
	@echo "make test   lint, type checks and all tests"
	@echo "make bench  run the benchmarks under benchmarks/"
	@echo "make package STAGE=prod    chalice package with infra/ merged in, then checks (build/STAGE/)"
	@echo "make deploy STAGE=prod     package, deploy the stack, publish the site, pre-warm"
	@echo "make resources STAGE=dev   the resources stack for chalice deploy; fills .chalice/config.json"
	@echo "make cfn-lint STAGE=prod   cfn-lint on infra/resources.yaml and the built templates"

$(PY):
	@if [ -z "$(PYTHON312)" ]; then \
	  echo "error: Python 3.12 is required (the Lambda runtime follows the local Python)." >&2; \
	  echo "Install it, e.g. 'pyenv install 3.12' or your system's python3.12 package, or pass PYTHON312=/path/to/python3.12." >&2; \
	  exit 1; fi
	"$(PYTHON312)" -m venv $(VENV)

$(STAMP): $(PY) requirements.txt requirements-dev.txt
	$(PY) -m pip install --quiet --upgrade "pip<26.3"
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

venv install: $(STAMP)

# The browser tests drive Debian's Chromium through Playwright (never `playwright install`).
chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "warning: /usr/bin/chromium is missing (apt-get install chromium as root); browser tests will be skipped" >&2; fi

run: $(STAMP)
	$(PY) -m sandbox run

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

unit: $(STAMP) chromium
	$(VENV)/bin/pytest -n 2

test: lint typecheck unit

bench: $(STAMP)
	$(PY) benchmarks/cold_start.py
	$(PY) benchmarks/thumbnails.py
	$(PY) benchmarks/posts_cache.py

clean:
	rm -rf $(VENV) .sandbox .mypy_cache .ruff_cache .pytest_cache

# Deployment (README, "Deploy"). STAGE is the Chalice stage; MAIL_SENDER the blog's sender
# (needed on a stage's first deploy); PARAMS template parameters, e.g.
# PARAMS="TableBillingMode=PROVISIONED ApiProvisionedConcurrency=5".
STAGE ?= dev
MAIL_SENDER ?=
PARAMS ?=
DEPLOY_ARGS = --stage $(STAGE) $(if $(MAIL_SENDER),--mail-sender $(MAIL_SENDER)) \
	$(foreach p,$(PARAMS),--parameter $(p))

package: $(STAMP)
	$(PY) -m deploy package --stage $(STAGE)

deploy: package
	$(PY) -m deploy deploy $(DEPLOY_ARGS)

resources: $(STAMP)
	$(PY) -m deploy resources $(DEPLOY_ARGS)

cfn-lint: $(STAMP)
	$(PY) -m deploy lint --stage $(STAGE)
