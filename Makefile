# Yibao — the README's words are the targets: run, test, lint, bench.
# Only python3 (3.11+) is assumed; uv is installed into .tools/ on first use.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)

.PHONY: run test lint format bench sync clean

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv

sync: $(UV)
	$(UV) sync --frozen --all-packages

run: sync
	$(UV) run --frozen python -m yibao.embedded

lint: sync
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy shared/src services/*/src tests bench

format: sync
	$(UV) run --frozen ruff check --fix .
	$(UV) run --frozen ruff format .

test: lint
	$(UV) run --frozen pytest

bench: sync
	$(UV) run --frozen python -m bench.bus
	$(UV) run --frozen python -m bench.settlements
	$(UV) run --frozen python -m bench.credit
	$(UV) run --frozen python -m bench.disclosure
	$(UV) run --frozen python -m bench.enrollment

clean:
	rm -rf .yibao .pytest_cache .mypy_cache .ruff_cache
