# make run   - set up .venv and run the whole DVC pipeline on FSDD, then print a summary of the metrics
# make test  - set up .venv, lint, and run the test suite
# make check - lint and the quick tier (every test but the end-to-end pipeline runs): the edit loop
# make bench - benchmarks (after make run): features stage speed and memory; augment and training
#              throughput; predict latency, Keras vs ONNX, and its peak memory on a 1 GB file;
#              hostile and non-digit inputs through predict and ingest (exit code, reason, time, memory);
#              the speech_embedding and Whisper front ends beside MFCC (features clips/s, cold predict);
#              digits serve on each front end: cold start, 32 clients with and without malformed requests
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
READY := $(VENV)/.ready
# DVC runs each stage's `digits ...` command through the shell: put the venv first on PATH.
export PATH := $(CURDIR)/$(BIN):$(PATH)

# The synth stage's text-to-speech engines are Debian packages: installed here when missing and root.
ENGINES := espeak-ng flite festival festvox-kallpc16k festvox-us-slt-hts

.PHONY: setup engines run test check lint bench clean

setup: $(READY) engines

engines:
	@missing=$$(for p in $(ENGINES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing the text-to-speech engines: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else \
		echo "the synth stage needs: sudo apt-get install" $$missing >&2; \
	fi

$(READY): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

run: setup
	$(BIN)/dvc repro
	@$(BIN)/digits summary

lint: setup
	$(BIN)/ruff check .

# pytest exits 5 when it collects no tests: that is a failure here, not a pass.
# Test modules run side by side, one per core (pytest-xdist; a module's fixtures are built once, in its worker),
# the longest first (tests/conftest.py: LONGEST_FIRST).
TEST_WORKERS ?= 2
test: lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

check: lint
	$(BIN)/python -m pytest -m "not slow" -n $(TEST_WORKERS) --dist loadfile

bench: $(READY)
	$(BIN)/python -m benchmarks.features run
	$(BIN)/python -m benchmarks.throughput
	$(BIN)/python -m benchmarks.predict
	$(BIN)/python -m benchmarks.hostile
	$(BIN)/python -m benchmarks.embedding
	$(BIN)/python -m benchmarks.whisper
	$(BIN)/python -m benchmarks.serve

clean:
	rm -rf $(VENV) data/raw data/raw.partial data/features data/features.partial data/augmented models
