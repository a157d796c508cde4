# icdsite: `make run` sets everything up and serves http://127.0.0.1:8000; `make test` runs the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Development settings for `make run` and the tests; production sets DEBUG=0 and SECRET_KEY.
export DEBUG ?= 1

.PHONY: install db db-stop migrate data run serve test lint deploy-check browser services bench bench-serve bench-search clean backup restore

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

# Starts (or reuses) the embedded PostgreSQL unless DATABASE_URL points elsewhere.
db: install
	@if [ -z "$$DATABASE_URL" ]; then $(BIN)/python -m icdsite.embedded_db start >/dev/null && echo "Embedded PostgreSQL running (data in .pgdata/)."; fi

db-stop: install
	$(BIN)/python -m icdsite.embedded_db stop

migrate: db
	$(BIN)/python manage.py migrate --noinput

data: migrate
	$(BIN)/python manage.py import_icd10cm --if-empty
	$(BIN)/python manage.py load_synonyms

run: data
	$(BIN)/python manage.py load_sample_content
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# The production server: gunicorn (deploy/gunicorn.conf.py) with DEBUG off and WhiteNoise serving the
# collected, hashed and compressed static files. Local defaults: plain HTTP on HOST:PORT, a throwaway
# SECRET_KEY when none is set; production sets SECRET_KEY, ALLOWED_HOSTS and keeps SECURE_SSL_REDIRECT on.
serve: data
	@set -e; export DEBUG=0; \
	if [ -z "$$SECRET_KEY" ]; then \
		export SECRET_KEY="$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')"; \
		echo "SECRET_KEY is not set: using a throwaway key for this run (logins end when the server stops). Set SECRET_KEY in production."; \
	fi; \
	export ALLOWED_HOSTS="$${ALLOWED_HOSTS:-$(HOST),localhost,127.0.0.1}" SECURE_SSL_REDIRECT="$${SECURE_SSL_REDIRECT:-0}"; \
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0; \
	echo "Serving http://$(HOST):$(PORT) with gunicorn (production settings)."; \
	HOST=$(HOST) PORT=$(PORT) exec $(BIN)/gunicorn --config deploy/gunicorn.conf.py icdsite.wsgi

# Debian's Chromium for the browser tests (Playwright cannot download its own browser here).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	fi

# Debian's redis-server and nginx for the shared-cache and reverse-proxy tests, wrk for `make bench-serve`.
services:
	@if [ ! -x /usr/bin/redis-server ] || [ ! -x /usr/sbin/nginx ] || [ ! -x /usr/bin/wrk ]; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server nginx wrk; \
	fi

# Quality gates: lint and format (ruff.toml), deploy checks, no model change without its migration.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Production settings (DEBUG off) pass Django's deploy checks, warnings included; the throwaway
# key only serves the check.
deploy-check: install
	DEBUG=0 ALLOWED_HOSTS=icd.example.org \
	SECRET_KEY="$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
	$(BIN)/python manage.py check --deploy --fail-level WARNING

test: db browser services lint deploy-check
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python -m pytest

bench: data
	$(BIN)/python bench/import_bench.py
	$(BIN)/python bench/pages_bench.py
	$(BIN)/python bench/admin_bench.py

# Production server throughput under wrk, with nginx references (deploy/nginx.conf); BENCH_SECONDS=20.
bench-serve: data services
	$(BIN)/python bench/serve_bench.py

# Search speed over HTTP against `make serve` (the script starts it); wrk from Debian for the load figures.
bench-search: data
	@if ! command -v wrk >/dev/null; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >/dev/null; \
	fi
	$(BIN)/python bench/search_bench.py --port $(PORT)

# Editor content, accounts and media (the code set is re-imported, not backed up): see README "Backups".
backup: migrate
	$(BIN)/python manage.py backup $(if $(BACKUP),--output $(BACKUP))

restore: migrate
	@test -n "$(BACKUP)" || { echo "usage: make restore BACKUP=backups/icdsite-<time>"; exit 2; }
	$(BIN)/python manage.py restore $(BACKUP)

clean: db-stop
	rm -rf $(VENV) .pgdata staticfiles
