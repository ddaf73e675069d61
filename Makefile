# Every target that runs code first makes sure .venv exists and holds what pyproject.toml asks for.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv demo test bench crds wheel package-test clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m reconciler.demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

crds: $(STAMP)
	$(BIN)/python -m reconciler.operator.crds --output helm/crds/

# The sdist, and the wheel built from it (so a file missing from the sdist breaks the wheel too).
wheel: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --outdir dist .

# Build, install into an empty environment with pipx, run it (a minute or two: not in `make test`).
package-test: $(STAMP)
	$(BIN)/python -m pytest -q -m package tests/packaging

clean:
	rm -rf $(VENV) .pytest_cache build dist *.egg-info
