# One command each, on a fresh Debian/Ubuntu machine:
#   make example   render the bundled Pet Clinic fleet into out/
#   make test      install what the tests need (apt + a venv), lint, type-check and run every test
# Everything Python goes into .venv; system packages are installed with apt-get (via sudo when not root).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := docker-registry skopeo umoci buildah debootstrap apache2-utils openssl git ca-certificates
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: example test lint image bench setup-python setup-test setup-system clean

example: setup-python
	$(BIN)/shiplane render examples/petclinic/shiplane.yaml --out out/

test: setup-test setup-system lint
	$(BIN)/pytest $(PYTEST_ARGS)

lint: setup-test
	$(BIN)/ruff check resources generator tests benchmarks
	$(BIN)/mypy

image: setup-test setup-system
	$(BIN)/pytest -m image $(PYTEST_ARGS)

bench: setup-test setup-system
	$(BIN)/python benchmarks/render_fleet.py
	$(BIN)/python benchmarks/check_requests.py

setup-python: $(VENV)/.installed
setup-test: $(VENV)/.installed-test

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
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
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
