# pattern-mlir: `make test` and `make demo` set everything up from a fresh clone
# (Debian packages, a .venv with the pinned wheels, the native build) and run.
# A second run with nothing changed reinstalls and rebuilds nothing.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMPS := $(VENV)/.stamps

# Python files count too: the editable install maps modules that exist at install time.
NATIVE_SOURCES := $(shell find dialect lib tools python -name '*.td' -o -name '*.cpp' -o -name '*.h' -o -name '*.c' -o -name '*.py' -o -name CMakeLists.txt) CMakeLists.txt pyproject.toml

.PHONY: test demo lit pytest env build apt clean

test: build
	$(VENV)/bin/lit -sv test
	$(PY) -m pytest -q -n 2 test/python

demo: build
	$(PY) -m pattern_mlir.demo

lit: build
	$(VENV)/bin/lit -sv test

pytest: build
	$(PY) -m pytest -q -n 2 test/python

env: $(STAMPS)/deps
build: $(STAMPS)/build

$(STAMPS)/apt: scripts/ensure_apt_packages.sh
	scripts/ensure_apt_packages.sh
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/deps: requirements.txt | $(STAMPS)/apt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/build: $(STAMPS)/deps $(NATIVE_SOURCES)
	$(PY) -m pip install -q --no-build-isolation --no-deps -e .
	@touch $@

clean:
	rm -rf build $(STAMPS)/build
