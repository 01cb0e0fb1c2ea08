# Two commands do everything on a machine that has python3 and make:
#   make run    serve the site and API on embedded defaults (http://127.0.0.1:8000)
#   make test   run the whole test suite (starts its own PostgreSQL and Redis if none are given)
# Both bootstrap a pinned uv into .tools/ and the locked dependencies into .venv/.

PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format sync system-packages cluster clean bench bench-soak

run: sync
	$(UV) run --frozen snapscale serve --host $(HOST) --port $(PORT)

test: sync system-packages
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

# Snapscale against the guides' example code and the server's ceiling on this machine:
# prints a table and writes docs/PERFORMANCE.md (needs PostgreSQL, BENCH_POSTGRES_URL).
# BENCH_ARGS passes options, e.g. make bench BENCH_ARGS="--duration 30 --workers 4".
bench: sync
	@scripts/ensure-bench-tools
	$(UV) run --frozen python -m bench.run $(BENCH_ARGS)

# The memory soak: the API at 70% of its peak for 10 minutes, its workers' RSS sampled.
bench-soak: sync
	@scripts/ensure-bench-tools
	$(UV) run --frozen python -m bench.run --soak $(BENCH_ARGS)

# The tests drive Debian's Chromium (browser tests) and nginx (the cluster test), and check
# the deployment files with docker-compose; install them when missing and we may.
system-packages:
	@scripts/ensure-packages chromium=/usr/bin/chromium nginx=/usr/sbin/nginx \
		docker-compose=/usr/bin/docker-compose gettext-base=/usr/bin/envsubst

# The production topology on this machine: nginx on http://127.0.0.1:8080 balancing 2 API
# and 2 site processes, 2 workers and beat. Needs SNAPSCALE_DATABASE_URL (PostgreSQL),
# SNAPSCALE_REDIS_URL and SNAPSCALE_SECRET_KEY in the environment or .env. Ctrl-C stops it.
cluster: sync
	@scripts/ensure-packages nginx=/usr/sbin/nginx
	$(UV) run --frozen snapscale cluster

clean:
	rm -rf .venv .tools .pytest_cache .mypy_cache .ruff_cache
