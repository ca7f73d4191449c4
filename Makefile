# The two set-up commands in the README are `make run` and `make test`; each creates .venv on first use.
# Supported: Python 3.13, 3.12, 3.11. Which one .venv gets is decided once, when it is created:
# PYTHON if given (make PYTHON=python3.12 test), else scripts/pythons.py --pick, which takes the
# newest supported interpreter found whose torch wheels are on this machine (else the newest that
# has wheels at all) and says which and why. An existing .venv is kept: `make clean` to choose again.
PYTHON ?=
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# any Python 3 runs scripts/pythons.py (standard library only)
BOOTSTRAP_PYTHON := $(shell command -v python3 || command -v python)

.PHONY: run test test-pythons pythons dist lint typecheck bench bench-pytorch clean

$(STAMP): pyproject.toml
	@if [ ! -x $(PY) ]; then \
	  py="$(PYTHON)"; \
	  if [ -z "$$py" ]; then py=$$($(BOOTSTRAP_PYTHON) scripts/pythons.py --pick) || exit 1; \
	  else echo "make: .venv uses $$py (PYTHON was given)"; fi; \
	  "$$py" -m venv $(VENV) || exit 1; \
	else \
	  echo "make: .venv has Python $$($(PY) -c 'import platform; print(platform.python_version())') (make clean to choose again)"; \
	fi
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/alexnet-gui

test: $(STAMP)
	@$(PY) -c "import platform; print('make test: Python', platform.python_version(), 'in $(VENV)')"
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest
	$(PY) -m ruff check alexnet_gui tests benchmarks scripts main.py
	$(PY) -m mypy

# The other supported Pythons: a fresh venv each, `pip install .`, classify --json, summary and the
# window offscreen until its first result; one PASS/FAIL line per interpreter (scripts/test_pythons.py).
test-pythons:
	$(BOOTSTRAP_PYTHON) scripts/test_pythons.py

# The supported interpreters found on this machine, and the one a new .venv would get.
pythons:
	$(BOOTSTRAP_PYTHON) scripts/pythons.py --list
	$(BOOTSTRAP_PYTHON) scripts/pythons.py --pick >/dev/null

# dist/: the sdist and the wheel (resources/ inside as alexnet_gui/resources/).
dist: $(STAMP)
	rm -rf dist/*.whl dist/*.tar.gz
	$(PY) -m build --outdir dist .

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
