# make run   - set up .venv and run the whole DVC pipeline on FSDD, then print a summary of the metrics
# make test  - set up .venv, lint, and run the test suite
# make bench - benchmarks (after make run): features stage speed and memory; predict latency, Keras vs ONNX
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
READY := $(VENV)/.ready
# DVC runs each stage's `digits ...` command through the shell: put the venv first on PATH.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup run test lint bench clean

setup: $(READY)

$(READY): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

run: $(READY)
	$(BIN)/dvc repro
	@$(BIN)/digits summary

lint: $(READY)
	$(BIN)/ruff check .

# pytest exits 5 when it collects no tests: that is a failure here, not a pass.
test: lint
	$(BIN)/python -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

bench: $(READY)
	$(BIN)/python -m benchmarks.features run
	$(BIN)/python -m benchmarks.predict

clean:
	rm -rf $(VENV) data/raw data/raw.partial data/features data/features.partial data/augmented models
