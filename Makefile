# The two set-up commands in the README are `make run` and `make test`; each creates .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint typecheck bench bench-pytorch clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/alexnet-gui

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest
	$(PY) -m ruff check alexnet_gui tests benchmarks scripts main.py
	$(PY) -m mypy

typecheck: $(STAMP)
	$(PY) -m mypy

lint: $(STAMP)
	$(PY) -m ruff check alexnet_gui tests benchmarks scripts main.py

bench: $(STAMP)
	$(PY) benchmarks/engines.py

bench-pytorch: $(STAMP)
	$(PY) benchmarks/inference.py

clean:
	rm -rf $(VENV) build dist .pytest_cache

include scripts/bundle.mk

# Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist) as class folders.
fashion-mnist: $(STAMP)
	$(PY) scripts/export_fashion_mnist.py data/fashion-mnist
