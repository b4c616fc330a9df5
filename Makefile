# The two commands a newcomer needs: `make run` and `make test`. Everything else is a part of them.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PYTEST := $(PY) -m pytest -q
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test
export FLASK_APP := app

.PHONY: run install install-test vendor chromium migrate demo test test-fast test-postgres \
        test-realtime test-faults test-multiprocess test-browser test-faults-and-browser audit bench bench-smoke bench-pairs clean nginx \
        soak

run: install vendor migrate ## install, migrate and serve on http://127.0.0.1:5000 (SQLite)
	$(PY) app.py

# The build tools too: venv seeds an old setuptools (65.5 on Python 3.11, with known CVEs);
# the install steps upgrade them in a venv made before this rule, as well.
BUILD_TOOLS := pip "setuptools>=78.1.1" wheel
$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade $(BUILD_TOOLS)

$(VENV)/.installed: pyproject.toml Makefile | $(PY)
	$(PY) -m pip install -q --upgrade $(BUILD_TOOLS)
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml Makefile | $(PY)
	$(PY) -m pip install -q --upgrade $(BUILD_TOOLS)
	$(PY) -m pip install -q -e '.[test,gevent]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# Browser libraries come from npm at install time (package-lock.json pins them); never committed.
# The few Lucide icons the pages use (ISC, with their licence; docs/design.md) go to vendor/icons.
ICONS := heart menu house messages-square chart-line life-buoy shield eye download trash-2 log-out printer
VENDOR := static/vendor/socket.io.esm.min.js static/vendor/chart.umd.min.js \
          $(foreach i,$(ICONS),static/vendor/icons/$(i).svg)
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(VENDOR) &: node_modules/.package-lock.json
	mkdir -p static/vendor/icons
	cp node_modules/socket.io-client/dist/socket.io.esm.min.js static/vendor/
	cp node_modules/chart.js/dist/chart.umd.min.js static/vendor/
	cp $(foreach i,$(ICONS),node_modules/lucide-static/icons/$(i).svg) static/vendor/icons/
	cp node_modules/lucide-static/LICENSE static/vendor/icons/LICENSE

vendor: $(VENDOR)

# Debian's Chromium for the browser tests (Playwright drives it; no browser download).
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

migrate: install
	$(VENV)/bin/flask db upgrade

demo: install migrate
	$(VENV)/bin/flask demo

# --- tests: `make test` runs every suite; each runs on its own too ----------------------------
# The slower suites live in their own folders; the fast set is everything else under tests/.
SLOW_SUITES := tests/realtime tests/security tests/faults tests/multiprocess tests/browser
FAST_SET    := tests $(foreach d,$(SLOW_SUITES),--ignore=$(d))

test: install-test audit test-fast test-postgres test-realtime test-security test-multiprocess \
      test-faults-and-browser bench-smoke

# The fault suite mostly waits (30 s outages, crash and restart cycles) while the browser suite
# mostly computes, so on two cores they run side by side: about four minutes off `make test`.
# Each output is printed whole when its suite ends; either failing fails `make test`.
test-faults-and-browser: install-test vendor chromium
	$(MAKE) --no-print-directory -j2 --output-sync=target test-faults test-browser

test-fast: install-test ## engine, models, API and services in-process, on SQLite
	$(PYTEST) $(FAST_SET)

test-postgres: install-test ## the model, API and service tests again on the local PostgreSQL
	TEST_DATABASE=postgresql $(PYTEST) $(FAST_SET) -k "not engine"

test-realtime: install-test vendor ## real python-socketio clients (and the official JS client, by Node) against `python app.py` under eventlet
	$(PYTEST) tests/realtime

audit: install-test ## known vulnerabilities in what we install
	$(PY) scripts/audit.py

clean:
	rm -rf $(VENV) static/vendor node_modules tests/artifacts

# --- browser suite (issue 4): the real server driven by Debian's Chromium through Playwright ------
test-browser: install-test vendor chromium ## pages, the live room and accessibility in headless Chromium
	@test -f node_modules/axe-core/axe.min.js || npm ci --no-audit --no-fund --loglevel=error
	$(PYTEST) tests/browser

test-security: install-test vendor chromium ## authorization matrix, fuzzing, web security, canaries, privacy (issue 5)
	$(PYTEST) tests/security

# --- scale-out and benchmark (issue 6) ------------------------------------------------------------
test-multiprocess: install-test nginx ## 3 server processes on the local PostgreSQL + Redis: exercises, presence, timer, kill -9; deploy/nginx.conf in front of 2
	$(PYTEST) tests/multiprocess

# Debian's nginx, to run deploy/nginx.conf in the multi-process suite. Only the binary is used:
# the package's own service is stopped, it would hold port 80 for nothing.
nginx:
	@command -v nginx >/dev/null || test -x /usr/sbin/nginx || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; \
	  /usr/sbin/nginx -s stop 2>/dev/null || true; }

bench-smoke: install-test ## the benchmark in seconds (3 sessions: SQLite, PostgreSQL on 3 processes, relay): fails only if it errors
	$(PY) bench/run.py --smoke

bench: install-test ## the full benchmark matrix (~15 min; results in bench/results/, table in docs/benchmarks.md)
	$(PY) bench/run.py

bench-pairs: install-test ## the p99 target's check: the relay and the app at 500 sessions, 8 pairs back to back (~22 min)
	$(PY) bench/run.py --pairs 8

# --- reliability: crash, network faults, database faults, live equals reloaded (issue 5) ---------
test-faults: install-test ## kill -9 x22, cut connections, PostgreSQL restart/black hole, live = reloaded
	$(PYTEST) tests/faults -s

# The same crash and network-fault tests at full counts (not part of `make test`; ~10 min).
# FAULT_CRASHES is per database; REQUIRE_SERVICES=1 so the PostgreSQL case cannot skip.
SOAK_CRASHES        ?= 50
SOAK_NETWORK_FAULTS ?= 1000
soak: install-test ## kill -9 x50 on SQLite and on PostgreSQL, 1,000 dropped or cut connections (figures in docs/reliability.md)
	REQUIRE_SERVICES=1 FAULT_CRASHES=$(SOAK_CRASHES) FAULT_NETWORK_FAULTS=$(SOAK_NETWORK_FAULTS) \
	  $(PYTEST) tests/faults/test_crash.py tests/faults/test_network_faults.py -s
