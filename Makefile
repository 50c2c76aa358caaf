# The two commands: `make run` (the app, with demo data) and `make test` (everything).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
ADDR ?= 127.0.0.1:8000

.PHONY: run run-production test install system-deps lint lock bench clean

run: install
	mkdir -p var
	DEBUG=true $(BIN)/python manage.py migrate --no-input
	DEBUG=true $(BIN)/python manage.py seed_demo
	DEBUG=true $(BIN)/python manage.py run_stack --addr $(ADDR)

# The same stack the production way (gunicorn, whitenoise), still on this machine's
# SQLite: set SECRET_KEY and ALLOWED_HOSTS first (docs/deploy.md).
run-production: install
	mkdir -p var
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py run_stack --production --addr $(ADDR)

test: install system-deps lint
	DEBUG=true $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	command -v $(PYTHON) >/dev/null || (echo "$(PYTHON) is needed" && exit 1)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $@

# Servers and the browser the tests start themselves: Redis, PostgreSQL, Chromium,
# Prometheus; and espeak-ng, the speech engine of the demo's narrated workflows.
system-deps:
	@missing=""; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v espeak-ng >/dev/null || missing="$$missing espeak-ng"; \
	command -v prometheus >/dev/null || missing="$$missing prometheus"; \
	command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Re-pin requirements.lock from pyproject.toml (run after changing dependencies).
lock:
	rm -rf /tmp/lockenv && $(PYTHON) -m venv /tmp/lockenv
	/tmp/lockenv/bin/pip install -q --upgrade pip
	/tmp/lockenv/bin/pip install -q -e '.[test]'
	/tmp/lockenv/bin/pip freeze --exclude-editable | grep -v '^scheduler-admin' > requirements.lock

bench: install
	$(BIN)/python benchmarks/fire_lag.py

clean:
	rm -rf $(VENV) var .pytest_cache
