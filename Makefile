# The two commands of the README: `make run` and `make test`. Everything else serves them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt requirements.lock | sha1sum | cut -c1-12)
HOST ?= 127.0.0.1
PORT ?= 8000
# The test suite talks to real PostgreSQL and Redis (see README, "Tests").
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/attribution
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
PYTEST_ARGS ?=

.PHONY: install run test lint lint-imports format migrations-check chromium postgresql-client worker beat lock clean bench-intake

$(STAMP): requirements.txt requirements-dev.txt requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -c requirements.lock
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo "Serving on http://$(HOST):$(PORT)/ (admin at /admin/)"
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# Debian's chromium drives the browser tests (Playwright cannot download a browser here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# pg_dump and pg_restore for manage.py backup / restore and their test. Debian 12's client is
# PostgreSQL 15, the server's version: an older pg_dump refuses a newer server.
postgresql-client:
	@command -v pg_dump >/dev/null 2>&1 && command -v pg_restore >/dev/null 2>&1 || { \
		echo "Installing Debian's postgresql-client for the backup tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-client >/dev/null; }

# Webhook intake beside its floor (bench/webhooks/side_by_side.py); wrk drives the load.
bench-intake: install
	@command -v wrk >/dev/null 2>&1 || { \
		echo "Installing Debian's wrk for the intake benchmark"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	$(BIN)/python bench/webhooks/side_by_side.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The import boundaries of pyproject.toml [tool.importlinter] (layers, a pure attribution/).
lint-imports: install
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrations-check: install
	$(BIN)/python manage.py makemigrations --check --dry-run

test: install chromium postgresql-client lint lint-imports migrations-check
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
		$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

# Both queues in one worker for development; production runs one worker per queue
# (docker-compose.yml), so a backfill never holds up webhooks.
worker: install
	$(BIN)/celery -A config worker -Q celery,sync --loglevel=info

beat: install
	$(BIN)/celery -A config beat --loglevel=info

# Regenerates requirements.lock: every transitive version, for reproducible images.
# Resolved in a throwaway virtualenv so tools installed by hand never leak into the lock.
lock:
	rm -rf /tmp/attribution-lock && $(PYTHON) -m venv /tmp/attribution-lock
	/tmp/attribution-lock/bin/pip install --quiet -r requirements-dev.txt
	{ echo "# Every transitive version, used as pip constraints by the Makefile and the Dockerfile."; \
	  echo "# Regenerate with 'make lock' after changing requirements*.txt."; \
	  /tmp/attribution-lock/bin/pip freeze --exclude-editable; } > requirements.lock

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache
