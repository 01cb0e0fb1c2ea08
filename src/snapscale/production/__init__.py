"""Production servers: gunicorn running the API on uvicorn workers, or the site on threads.

`snapscale serve --api` and `snapscale serve --web` build one of these. The master process
only supervises; each worker builds its own app (and with it its event loop, database
pool, Redis clients and Sentry client) after the fork, since none of those survive one.

- Graceful shutdown: on SIGTERM the master stops accepting, workers finish the requests
  in flight (up to SNAPSCALE_GRACEFUL_TIMEOUT_SECONDS), then everything exits 0.
- X-Forwarded-* headers are left alone here: the apps decide which proxies to believe
  (SNAPSCALE_FORWARDED_ALLOW_IPS), so neither gunicorn nor uvicorn may rewrite them first.
- Metrics: workers are separate processes, so prometheus-client writes its samples to a
  folder shared by the workers of one server (PROMETHEUS_MULTIPROC_DIR), emptied when the
  master starts and told about each worker that exits.
- No schema migration: that is `snapscale db upgrade`, run once per release.
"""
