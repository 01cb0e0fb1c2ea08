# Two commands do everything on a machine that has python3 and make:
#   make run    serve the site and API on embedded defaults (http://127.0.0.1:8000)
#   make test   run the whole test suite (starts its own PostgreSQL and Redis if none are given)
# Both bootstrap a pinned uv into .tools/ and the locked dependencies into .venv/.

PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format sync browser clean

run: sync
	$(UV) run --frozen snapscale serve --host $(HOST) --port $(PORT)

test: sync browser
	$(UV) run --frozen pytest

lint: sync
	$(UV) run --frozen ruff format --check src tests
	$(UV) run --frozen ruff check src tests
	$(UV) run --frozen mypy

format: sync
	$(UV) run --frozen ruff format src tests
	$(UV) run --frozen ruff check --fix src tests

sync: .venv/.synced

.venv/.synced: pyproject.toml uv.lock $(UV)
	$(UV) sync --frozen
	@touch $@

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# The browser test drives Debian's Chromium; install it when missing and we may.
browser:
	@scripts/ensure-chromium

clean:
	rm -rf .venv .tools .pytest_cache .mypy_cache .ruff_cache
