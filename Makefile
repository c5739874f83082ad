# Textdesk: `make run` serves it, `make test` tests it. Both set up what they need first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
CHROMIUM ?= /usr/bin/chromium
# Parallel test processes; `make test WORKERS=0` runs in one process.
WORKERS ?= auto

.PHONY: run test test-postgres bench lint format lock clean

$(VENV)/.base-installed: requirements/base.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null || \
		{ echo "Textdesk needs Python 3.11 (found: $(PYTHON)); set PYTHON=/path/to/python3.11"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements/base.txt
	@touch $@

$(VENV)/.dev-installed: requirements/dev.txt $(VENV)/.base-installed
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements/dev.txt
	@touch $@

# The browser tests drive Debian's Chromium; Playwright never downloads a browser of its own.
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; \
	else echo "Install Chromium (Debian: apt-get install chromium) or set CHROMIUM=/path/to/it"; exit 1; fi; \
	$$SUDO apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 || \
	{ $$SUDO apt-get update >/dev/null && $$SUDO apt-get install -y --no-install-recommends chromium >/dev/null; }

run: $(VENV)/.base-installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py setup_demo
	$(PY) manage.py serve

test: $(VENV)/.dev-installed $(CHROMIUM)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run
	TEXTDESK_CHROMIUM=$(CHROMIUM) $(PY) -m pytest -n $(WORKERS)

# The same suite against PostgreSQL (DATABASE_URL, default: the local server's `test` database).
test-postgres:
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} $(MAKE) test

# Benchmarks print what they measured (and ratios to a baseline measured in the same run).
bench: $(VENV)/.dev-installed $(CHROMIUM)
	$(PY) bench/contacts_scale.py --db sqlite
	@if pg_isready -h 127.0.0.1 -q 2>/dev/null; then $(PY) bench/contacts_scale.py --db postgres; fi
	$(PY) bench/sending.py --db sqlite
	@if pg_isready -h 127.0.0.1 -q 2>/dev/null; then $(PY) bench/sending.py --db postgres; fi
	TEXTDESK_CHROMIUM=$(CHROMIUM) $(PY) bench/live_latency.py
	@if redis-cli ping >/dev/null 2>&1; then \
		TEXTDESK_CHROMIUM=$(CHROMIUM) $(PY) bench/live_latency.py --redis redis://127.0.0.1:6379/0; fi

lint: $(VENV)/.dev-installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(VENV)/.dev-installed
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

# Re-pin the dependencies after changing pyproject.toml (needs uv: pip install uv).
lock:
	uv pip compile pyproject.toml --python-version 3.11 --generate-hashes -o requirements/base.txt
	uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -o requirements/dev.txt

clean:
	rm -rf $(VENV) var
