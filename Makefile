# The two commands of the README: `make run` (serve the shipped model) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
CHROMIUM ?= /usr/bin/chromium

.PHONY: run dev test chromium services venv venv-dev train evaluate bench clean
# Installs the Debian packages named after it: as root, or through sudo otherwise.
APT_INSTALL = SUDO=$$( [ "$$(id -u)" = 0 ] && echo "" || echo sudo ); \
  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq

# The pinned lock first, then the project itself as an editable package (pyproject.toml: the
# console scripts digit-canvas-*); --no-deps: the lock alone decides the versions.
$(BIN)/.runtime-installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $@

$(BIN)/.dev-installed: $(BIN)/.runtime-installed requirements-dev.txt
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	touch $@

venv: $(BIN)/.runtime-installed
venv-dev: $(BIN)/.dev-installed

## Serve the shipped weights with gunicorn on $(HOST):$(PORT).
run: venv
	HOST=$(HOST) PORT=$(PORT) $(BIN)/gunicorn -c app/deploy/gunicorn_conf.py "app:create_app()"

## Development server with reload and the debugger (never in production).
dev: venv
	$(BIN)/flask --app app run --debug --host $(HOST) --port $(PORT)

## Debian's Chromium for the browser tests (installed when missing; needs root or sudo).
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  echo "Installing Debian's chromium for the browser tests"; \
	  $(APT_INSTALL) chromium; \
	fi

## Debian's PostgreSQL and Redis servers for tests/shared_stores (installed when missing; the tests
## start their own on 127.0.0.1 and a free port, and fail without them).
services:
	@if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || ! command -v redis-server >/dev/null; then \
	  echo "Installing Debian's postgresql and redis-server for the shared-store tests"; \
	  $(APT_INSTALL) postgresql redis-server; \
	fi

## The whole test suite: unit, API, gunicorn, browser, two servers on PostgreSQL + Redis.
test: venv-dev chromium services
	$(BIN)/python -m pytest

## Request-path benchmark against gunicorn on 127.0.0.1 (not a test; figures in docs/benchmarks.md).
## Load from Debian's wrk, installed when missing if apt-get can; otherwise from Python threads.
bench: venv
	@command -v wrk >/dev/null || ($(APT_INSTALL) wrk) \
	  || echo "wrk could not be installed: the load comes from Python threads"
	$(BIN)/python -m bench.request_speed

train: venv
	$(BIN)/python -m model.cli.train

evaluate: venv
	$(BIN)/python -m model.cli.evaluate weights/mlp.npz

clean:
	rm -rf $(VENV) .pytest_cache
