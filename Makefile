# The two commands: `make run` (install if needed, prepare the demo, serve the app) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
PORT ?= 8501

.PHONY: install run test test-hostile bench lint format browser clean screenshot

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"' \
		|| (echo "$(VENV) is not Python 3.11: remove it and run again with PYTHON=python3.11"; exit 1)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	@rm -f $(VENV)/.installed-* && touch $@

# Debian's Chromium for the browser test (playwright cannot download its own browser here).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
			echo "installing Debian's chromium for the browser test"; \
			(apt-get install -y -qq chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium)) >/dev/null; \
		else echo "note: /usr/bin/chromium is missing and this is not root: the browser test will be skipped"; fi; \
	fi

run: install
	$(PY) -m dlcore prepare-demo --no-model
	$(PY) -m ui.serve --server.port $(PORT)

test: install browser
	$(PY) -m pytest

# The hostile-input suite with its slowest fault test (kill -9 of a real training worker).
test-hostile: install
	DLCORE_HOSTILE_FULL=1 $(PY) -m pytest tests/hostile

bench: install
	$(PY) bench/train_overhead.py
	$(PY) bench/shap_latency.py
	$(PY) bench/real_tables.py
	$(PY) bench/medmnist.py
	$(PY) bench/bootstrap_speed.py
	$(PY) bench/survival.py
	$(PY) bench/seed_example.py
	$(PY) bench/calibration.py
	$(PY) bench/baseline_overhead.py
	$(PY) bench/molecules.py
	$(PY) bench/treatment.py
	$(PY) bench/scale.py
	$(PY) bench/memory.py
	$(PY) bench/app_start.py

lint: install
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .

format: install
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# Refresh the README's screenshot (assets/screenshot.png) with the browser test.
screenshot: install browser
	DLCORE_UPDATE_SCREENSHOT=1 $(PY) -m pytest tests/browser -q
