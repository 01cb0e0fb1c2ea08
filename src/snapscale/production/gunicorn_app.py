"""The gunicorn application behind `snapscale serve --api` and `--web` (see the package
docstring for what it guarantees)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]
from gunicorn.arbiter import Arbiter  # type: ignore[import-untyped]
from gunicorn.workers.base import Worker  # type: ignore[import-untyped]
from uvicorn_worker import UvicornWorker  # type: ignore[import-untyped]

from snapscale.config import Settings
from snapscale.observability.processes import MULTIPROC_ENV
from snapscale.production.options import Kind, ServerOptions

# Room left after the requests' grace period for an API worker's own shutdown (closing
# its database pool and Redis clients) before the master's deadline kills it.
CLEANUP_SECONDS = 2
# Memory-backed on Linux; gunicorn's own advice for its heartbeat files.
HEARTBEAT_DIR = Path("/dev/shm")  # noqa: S108 (only heartbeat files, made private by gunicorn)  # nosec B108


class ApiWorker(UvicornWorker):  # type: ignore[misc]
    """uvicorn, told not to trust proxy headers itself and to bound its own shutdown.

    Its access log is off: the app writes one access line per request itself, with the
    route and the request id."""

    CONFIG_KWARGS = {"loop": "auto", "http": "auto", "proxy_headers": False, "access_log": False}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        graceful = int(self.cfg.graceful_timeout)
        self.config.timeout_graceful_shutdown = max(1, graceful - CLEANUP_SECONDS)


class SnapscaleServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, options: ServerOptions) -> None:
        self.settings = settings
        self.options = options
        self.metrics_dir, self._owns_metrics_dir = _metrics_dir(options.kind)
        # Workers fork from the master: importing the app code here once shares its
        # memory pages between them and makes a replacement worker start faster.
        _import_app_modules(options.kind)
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.gunicorn_settings().items():
            self.cfg.set(key, value)

    def gunicorn_settings(self) -> dict[str, Any]:
        options, kind = self.options, self.options.kind
        chosen: dict[str, Any] = {
            "bind": [options.bind],
            "workers": options.workers,
            "graceful_timeout": self.settings.graceful_timeout_seconds,
            "proc_name": f"snapscale-{kind}",
            "loglevel": self.settings.log_level,
            # Nobody's forwarded headers are trusted here (see the module docstring).
            "forwarded_allow_ips": "",
            "secure_scheme_headers": {},
            "forwarder_headers": "",
            # Two servers on one host would otherwise fight over one control socket
            # under $HOME; nothing here uses it.
            "control_socket_disable": True,
            "on_starting": self._on_starting,
            "child_exit": _child_exit,
            "worker_exit": _worker_exit,
            "on_exit": self._on_exit,
        }
        if kind == "api":
            chosen["worker_class"] = f"{ApiWorker.__module__}.{ApiWorker.__qualname__}"
        else:
            chosen["worker_class"] = "gthread"
            chosen["threads"] = options.threads
        if HEARTBEAT_DIR.is_dir():
            # Workers touch a heartbeat file constantly; on a container's disk-backed
            # /tmp that can stall them.
            chosen["worker_tmp_dir"] = str(HEARTBEAT_DIR)
        return chosen

    def load(self) -> Any:
        """Build the app in a freshly forked worker."""
        from snapscale.observability.logs import configure_logging
        from snapscale.observability.sentry import init_sentry

        # Again in the worker: its server class has just given uvicorn's loggers
        # handlers of their own.
        configure_logging(self.settings)
        init_sentry(self.settings, self.options.kind)
        if self.options.kind == "api":
            from snapscale.api.app import create_api

            return create_api(self.settings)
        from snapscale.web.app import create_site

        return create_site(self.settings)

    def _on_starting(self, _arbiter: Arbiter) -> None:
        from snapscale.observability.logs import configure_logging
        from snapscale.observability.processes import reset_multiprocess_dir

        # Here rather than earlier: gunicorn has just set up its own loggers.
        configure_logging(self.settings)
        reset_multiprocess_dir(self.metrics_dir)

    def _on_exit(self, _arbiter: Arbiter) -> None:
        if self._owns_metrics_dir:
            shutil.rmtree(self.metrics_dir, ignore_errors=True)


def _child_exit(_arbiter: Arbiter, worker: Worker) -> None:
    from snapscale.observability.metrics import worker_exited

    worker_exited(worker.pid)


def _worker_exit(_arbiter: Arbiter, worker: Worker) -> None:
    # The site's core (event loop thread, database pool) is closed here; the API closes
    # its own in its lifespan.
    from flask import Flask

    from snapscale.web.core_access import EXTENSION_KEY

    app = getattr(worker, "wsgi", None)
    if isinstance(app, Flask):
        app.extensions[EXTENSION_KEY].close()


def _metrics_dir(kind: Kind) -> tuple[Path, bool]:
    """The operator's PROMETHEUS_MULTIPROC_DIR, or a fresh folder of this server's own.

    Set in the environment before any worker exists (and before prometheus-client is
    imported here), since the library reads it once, at import."""
    configured = os.environ.get(MULTIPROC_ENV)
    if configured:
        path, owned = Path(configured), False
    else:
        path, owned = Path(tempfile.mkdtemp(prefix=f"snapscale-prometheus-{kind}-")), True
    os.environ[MULTIPROC_ENV] = str(path)
    return path, owned


def _import_app_modules(kind: Kind) -> None:
    if kind == "api":
        import snapscale.api.app
    else:
        import snapscale.web.app  # noqa: F401


def run(settings: Settings, options: ServerOptions) -> None:
    """Serve until SIGTERM or SIGINT; exits the process (0 after a graceful stop)."""
    SnapscaleServer(settings, options).run()
