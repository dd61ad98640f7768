# The two README commands:
#   make run    set everything up (idempotent) and start the main job on the shipped seeds
#   make test   set everything up and run the whole test suite (what .ci/run runs)
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: setup index run test lint bench eval clean

setup:
	./scripts/setup.sh

index: setup
	$(BIN)/assistant sync

# Main job: the chat page on the shipped seeds, on loopback.
HOST ?= 127.0.0.1
PORT ?= 7860
run: index
	$(BIN)/assistant serve --host $(HOST) --port $(PORT)

# pytest exits 5 when it collects nothing; that is a failure of ours, say so plainly.
test: setup
	@$(BIN)/python -m pytest -v --durations=15; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "no tests were collected"; fi; exit $$rc

lint:
	$(BIN)/ruff check assistant tests eval benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy assistant

# Run on an idle machine: llama.cpp and torch threads spin, and contention skews every number.
bench: setup
	$(BIN)/python benchmarks/bench_core.py --out benchmarks/results/core.json
	$(BIN)/python benchmarks/bench_search_scale.py --out benchmarks/results/search_scale.json
	$(BIN)/python benchmarks/bench_embed.py --out benchmarks/results/embed.json
	$(BIN)/python benchmarks/bench_lexical.py --out benchmarks/results/lexical.json
	$(BIN)/python benchmarks/bench_scale.py --out benchmarks/results/scale.json --plot docs/scale-latency.png
	$(BIN)/python benchmarks/bench_store_writes.py --out benchmarks/results/store_writes.json
	$(BIN)/python benchmarks/bench_generate.py --model default --out benchmarks/results/generate.json
	$(BIN)/python benchmarks/bench_serve.py --model default --out benchmarks/results/serve.json
	$(BIN)/python benchmarks/report.py

# Quality: retrieval on the gold set, generation on a spread of gold items, ArguAna counters + stance.
eval: index
	$(BIN)/assistant eval --json > eval/results/retrieval.json
	$(BIN)/assistant eval generation --limit 12 --json > eval/results/generation.json
	$(BIN)/assistant eval arguana ../shared/benchmarks/arguana-dev.jsonl --limit 600 --stance 3 --json > eval/results/arguana.json

clean:
	rm -rf index .pytest_cache .mypy_cache .ruff_cache
