# FixIt Runbooks — the README's commands.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PG_URL ?= postgres://postgres@127.0.0.1:5432/fixit
REDIS_URL ?= redis://127.0.0.1:6379/15
# The suite clears the cache before each test, so the cache gets a Redis database of its own, apart from the broker's.
CACHE_URL ?= redis://127.0.0.1:6379/14
# Local development defaults; production sets these in the environment.
RUN_ENV := DEBUG=$${DEBUG:-1} SECURE_SSL_REDIRECT=$${SECURE_SSL_REDIRECT:-0}

.PHONY: install run migrate demo test test-postgres test-sqlite lint bench browser-deps clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

migrate: install
	$(RUN_ENV) $(PY) manage.py migrate --noinput

demo: migrate
	$(RUN_ENV) $(PY) manage.py seed_demo --if-empty

# Web (gunicorn + whitenoise), Celery worker and beat; Ctrl-C or SIGTERM stops all three.
run: demo
	@echo "FixIt Runbooks: http://$(HOST):$(PORT)/  (Ctrl-C to stop)"
	@$(RUN_ENV) HOST=$(HOST) PORT=$(PORT) exec $(PY) -m fixit_runbooks.supervise

browser-deps:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy fixit_runbooks runbooks search incidents reviews alerting notifications contacts changes api bench

# The whole suite on PostgreSQL + Redis and on the embedded default (SQLite + filesystem broker).
# The two runs share no database, broker or folder, and spend much of their time waiting on
# browsers, workers and servers, so they run side by side; each one's output follows when both end.
test: install browser-deps lint
	@mkdir -p var
	@$(MAKE) --no-print-directory test-postgres > var/test-postgres.log 2>&1 & postgres=$$!; \
	$(MAKE) --no-print-directory test-sqlite > var/test-sqlite.log 2>&1 & sqlite=$$!; \
	wait $$postgres; postgres_status=$$?; wait $$sqlite; sqlite_status=$$?; \
	echo "== PostgreSQL + Redis (exit $$postgres_status)"; cat var/test-postgres.log; \
	echo "== SQLite, embedded default (exit $$sqlite_status)"; cat var/test-sqlite.log; \
	test $$postgres_status -eq 0 -a $$sqlite_status -eq 0

test-postgres: install
	DATABASE_URL=$(PG_URL) CELERY_BROKER_URL=$(REDIS_URL) CACHE_URL=$(CACHE_URL) FIXIT_VAR_DIR=$(CURDIR)/var/test-postgres $(BIN)/pytest -q

test-sqlite: install
	env -u DATABASE_URL -u CELERY_BROKER_URL -u CACHE_URL -u REDIS_URL FIXIT_VAR_DIR=$(CURDIR)/var/test-sqlite $(BIN)/pytest -q

bench: install
	$(PY) bench/page_throughput.py

clean:
	rm -rf var/test var/test-postgres var/test-sqlite var/broker
