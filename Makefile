# The two commands a newcomer needs:  `make up`  and  `make test`.
# Both create .venv and install Pantau into it first, so a fresh clone just works.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: up test lint typecheck install system-deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Run everything locally: private Postgres, migrations, demo city, cameras, server.
up: $(STAMP)
	$(BIN)/pantau up

## Lint, type-check and run the whole test suite against a real Postgres.
test: $(STAMP)
	$(BIN)/ruff check db lang server streams tui tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check db lang server streams tui tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

## Debian packages the tests use (Postgres, Chromium, GStreamer's RTSP server).
system-deps:
	sh .ci/system-deps.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
