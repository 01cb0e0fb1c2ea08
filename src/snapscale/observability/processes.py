"""Set-up that a process entry point runs first, before it imports the rest of Snapscale."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

from snapscale.config import Settings
from snapscale.observability.logs import configure_logging

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_worker_process(settings: Settings) -> None:
    """Logging, and (with a metrics port) the folder where the worker's pool processes
    write their samples for the main process to serve."""
    configure_logging(settings)
    if settings.worker_metrics_port == 0:
        return
    if "prometheus_client" in sys.modules and MULTIPROC_ENV not in os.environ:
        raise RuntimeError("prepare_worker_process must run before prometheus_client is imported")
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        # A folder of this worker's own, removed as it exits. An operator's folder is
        # left in place (emptied below): it must not be shared with another process.
        directory = tempfile.mkdtemp(prefix="snapscale-worker-metrics-")
        os.environ[MULTIPROC_ENV] = directory
        atexit.register(_remove_own_dir, Path(directory), os.getpid())
    # Imported only now: prometheus-client reads the variable above as it is imported.
    from snapscale.observability.metrics import reset_multiprocess_dir

    reset_multiprocess_dir(Path(directory))


def _remove_own_dir(directory: Path, owner_pid: int) -> None:
    # Pool processes are forks of the worker: only the worker itself removes the folder.
    if os.getpid() == owner_pid:
        shutil.rmtree(directory, ignore_errors=True)
