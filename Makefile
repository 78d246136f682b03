# One command each, on a fresh Debian 12 machine with git and make (.ci/run proves it, as root and as a sudo user):
#   make example   render the bundled Pet Clinic fleet into out/
#   make test      install what the tests need (apt + a venv), lint, type-check and run every test
# Everything Python goes into .venv; system packages are installed with apt-get (via sudo when not root), python3-venv
# too when the machine has no Python venv yet (apt's errors are on stderr; dpkg's progress on stdout is dropped).
# The image tests (pytest -m image: debootstrap and buildah) need root: for a non-root user they run through sudo,
# the other tests run as that user.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := docker-registry skopeo umoci buildah debootstrap apache2-utils openssl git ca-certificates
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Root-owned files must not land in a user's checkout: no bytecode, no .pytest_cache from the sudo run.
AS_ROOT := $(if $(SUDO),sudo env PYTHONDONTWRITEBYTECODE=1,)
ROOT_PYTEST_ARGS := $(if $(SUDO),-p no:cacheprovider,)
APT_INSTALL = $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get

.PHONY: example test lint image bench setup-python setup-test setup-system clean

example: setup-python
	$(BIN)/shiplane render examples/petclinic/shiplane.yaml --out out/

# Two runs, one exit code each (make stops at the first failure; pytest's exit 5, "no tests ran", fails too).
test: setup-test setup-system lint
	$(BIN)/pytest -m "not image" $(PYTEST_ARGS)
	$(AS_ROOT) $(BIN)/pytest -m image $(ROOT_PYTEST_ARGS) $(PYTEST_ARGS)

lint: setup-test
	$(BIN)/ruff check resources generator tests benchmarks
	$(BIN)/mypy

image: setup-test setup-system
	$(AS_ROOT) $(BIN)/pytest -m image $(ROOT_PYTEST_ARGS) $(PYTEST_ARGS)

bench: setup-test setup-system
	$(BIN)/python benchmarks/render_fleet.py
	$(BIN)/python benchmarks/check_requests.py
	$(BIN)/python benchmarks/check_index_requests.py

setup-python: $(VENV)/.installed
setup-test: $(VENV)/.installed-test

$(VENV)/.installed: pyproject.toml
	@# Debian's python3 makes venvs only with python3-venv (ensurepip's wheels); a minimal Debian has no python3.
	@$(PYTHON) -m venv $(VENV) >/dev/null 2>&1 || { \
	  echo "installing: python3-venv (cannot make a venv with $(PYTHON))"; \
	  $(APT_INSTALL) update -qq && $(APT_INSTALL) install -y -qq --no-install-recommends python3-venv >/dev/null && \
	  $(PYTHON) -m venv --clear $(VENV); }
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

setup-system:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(APT_INSTALL) update -qq && $(APT_INSTALL) install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
