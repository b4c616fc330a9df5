# The two commands a newcomer needs: `make run` and `make test`. Everything else is a part of them.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PYTEST := $(PY) -m pytest -q
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test
export FLASK_APP := app

.PHONY: run install install-test vendor chromium migrate demo test test-fast test-postgres \
        test-realtime test-faults test-multiprocess test-browser audit bench bench-smoke clean

run: install vendor migrate ## install, migrate and serve on http://127.0.0.1:5000 (SQLite)
	$(PY) app.py

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[test,gevent]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# Browser libraries come from npm at install time (package-lock.json pins them); never committed.
VENDOR := static/vendor/socket.io.esm.min.js static/vendor/chart.umd.min.js
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(VENDOR): node_modules/.package-lock.json
	mkdir -p static/vendor
	cp node_modules/socket.io-client/dist/socket.io.esm.min.js static/vendor/
	cp node_modules/chart.js/dist/chart.umd.min.js static/vendor/

vendor: $(VENDOR)

# Debian's Chromium for the browser tests (Playwright drives it; no browser download).
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

migrate: install
	$(VENV)/bin/flask db upgrade

demo: install migrate
	$(VENV)/bin/flask demo

# --- tests: `make test` runs every suite; each runs on its own too ----------------------------
test: install-test audit test-fast test-postgres

test-fast: install-test ## unit, model, API and in-process socket tests on SQLite
	$(PYTEST) tests --ignore=tests/realtime --ignore=tests/browser --ignore=tests/multiprocess --ignore=tests/faults

test-postgres: install-test ## the model and API tests again on the local PostgreSQL
	TEST_DATABASE=postgresql $(PYTEST) tests --ignore=tests/realtime --ignore=tests/browser \
	  --ignore=tests/multiprocess --ignore=tests/faults -k "not engine"

audit: install-test ## known vulnerabilities in what we install
	$(PY) scripts/audit.py

clean:
	rm -rf $(VENV) static/vendor node_modules tests/artifacts
