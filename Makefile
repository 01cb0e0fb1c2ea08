# Two commands do everything on a machine that has python3 and make:
#   make run    serve the site and API on embedded defaults (http://127.0.0.1:8000)
#   make test   run the whole test suite (starts its own PostgreSQL and Redis if none are given)
# Both bootstrap a pinned uv into .tools/ and the locked dependencies into .venv/.

PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format sync system-packages cluster clean bench bench-soak chaos chaos-soak fuzz

run: sync
	$(UV) run --frozen snapscale serve --host $(HOST) --port $(PORT)

test: sync system-packages
	$(UV) run --frozen pytest

# bandit reads [tool.bandit] in pyproject.toml; each finding kept on purpose says why in
# place (# nosec). In bench/ random load, starting the servers under test (argument
# lists, no shell) and the seeded data's throwaway passwords are the point.
lint: sync
	$(UV) run --frozen ruff format --check src tests bench
	$(UV) run --frozen ruff check src tests bench
	$(UV) run --frozen mypy
	$(UV) run --frozen bandit --quiet --recursive src --configfile pyproject.toml
	$(UV) run --frozen bandit --quiet --recursive bench --configfile pyproject.toml \
		--skip B101,B105,B106,B311,B404,B603

format: sync
	$(UV) run --frozen ruff format src tests bench
	$(UV) run --frozen ruff check --fix src tests bench

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

# The fault tests (tests marked chaos: workers killed mid-job, Redis stopped and hung,
# PostgreSQL restarted, the object store and the broker down, a short cluster soak) with
# their load and outages held CHAOS_SECONDS each, where `make test` holds them seconds.
CHAOS_SECONDS ?= 60
chaos: sync
	@scripts/ensure-packages nginx=/usr/sbin/nginx
	SNAPSCALE_CHAOS_SECONDS=$(CHAOS_SECONDS) $(UV) run --frozen pytest -m chaos

# The fuzz tests (tests/fuzz) from a new seed each run, where `make test` uses a fixed one;
# FUZZ_SEED=<n> repeats a run.
FUZZ_SEED ?= $(shell date +%s)
fuzz: sync
	SNAPSCALE_FUZZ_SEED=$(FUZZ_SEED) $(UV) run --frozen pytest tests/fuzz -p no:cacheprovider

# The mixed journey at 70% of its peak for 10 minutes against `snapscale cluster` (nginx,
# 2 API and 2 site replicas, 2 workers, beat) on seeded data, every process's memory
# sampled; writes var/chaos-soak/cluster-soak-<time>.json. Needs PostgreSQL
# (BENCH_POSTGRES_URL); SOAK_ARGS passes options, e.g. SOAK_ARGS="--seconds 1800".
chaos-soak: sync
	@scripts/ensure-packages nginx=/usr/sbin/nginx
	$(UV) run --frozen python -m bench.cluster_soak $(SOAK_ARGS)

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
