# yibao: `make run` serves the demo, `make test` checks everything (SQLite and PostgreSQL).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
# The suite runs on two workers (pytest-xdist); each has its own PostgreSQL cluster and test servers.
PYTEST_ARGS ?= -n 2

.PHONY: run test install postgresql fonts chromium java catalogs messages lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,spark]'
	touch $(STAMP)

install: $(STAMP) fonts catalogs

# The page catalogs (Babel): `make messages` extracts what the pages say into both .po files; `make` compiles them.
catalogs: $(STAMP)
	$(BIN)/python -m yibao.web.catalogs compile

messages: $(STAMP)
	$(BIN)/python -m yibao.web.catalogs sync

run: install
	$(BIN)/yibao db upgrade
	$(BIN)/yibao demo load --url http://$(HOST):$(PORT)
	$(BIN)/yibao serve --host $(HOST) --port $(PORT)

# The PostgreSQL suite needs the server binaries; install Debian's package when they are missing.
postgresql:
	@if command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
	  echo "PostgreSQL server binaries present"; \
	else \
	  echo "installing PostgreSQL server (apt-get)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	fi

lint: install
	$(BIN)/ruff check src tests bench

# Printed statements and vouchers are Chinese PDFs: they need a CJK font and Pango for the renderer.
fonts:
	@if fc-list :lang=zh 2>/dev/null | grep -q . && ldconfig -p 2>/dev/null | grep -q libpangoft2 \
	    && ldconfig -p 2>/dev/null | grep -q libharfbuzz-subset; then \
	  echo "CJK font and Pango present"; \
	else \
	  echo "installing a CJK font and Pango (apt-get)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    fontconfig fonts-wqy-microhei libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 >/dev/null; \
	fi

# The browser tests drive Debian's Chromium headless; install it when it is missing.
chromium:
	@if command -v chromium >/dev/null 2>&1; then \
	  echo "Chromium present"; \
	else \
	  echo "installing Chromium (apt-get)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

# The analytics' Spark engine (pyspark) runs on a Java runtime; install Debian's default one when none is there.
java:
	@if command -v java >/dev/null 2>&1; then \
	  echo "Java runtime present"; \
	else \
	  echo "installing a Java runtime (apt-get)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null; \
	fi

test: install postgresql chromium java lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf var .pytest_cache
