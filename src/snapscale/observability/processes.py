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
    if "prometheus_client" in sys.modules:
        # Too late: without the variable below its samples stay in memory, and with it
        # the files it has made would be emptied below while it still writes to them.
        raise RuntimeError("prepare_worker_process must run before prometheus_client is imported")
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        # A folder of this worker's own, removed as it exits. An operator's folder is
        # left in place (emptied below): it must not be shared with another process.
        directory = tempfile.mkdtemp(prefix="snapscale-worker-metrics-")
        os.environ[MULTIPROC_ENV] = directory
        atexit.register(_remove_own_dir, Path(directory), os.getpid())
    reset_multiprocess_dir(Path(directory))


def reset_multiprocess_dir(path: Path) -> None:
    """Make ``path`` an empty metrics folder, so no sample of a previous run is counted
    again. A server's master (or the worker's main process) calls this as it starts,
    before it or any process it forks has imported prometheus-client: a process's files
    are made as its metrics are defined, and one emptied afterwards would be counting
    into a file no scrape can see any more."""
    path.mkdir(parents=True, exist_ok=True)
    # Only prometheus-client's files: a folder named by mistake keeps everything else.
    for leftover in path.glob("*.db"):
        leftover.unlink(missing_ok=True)


def _remove_own_dir(directory: Path, owner_pid: int) -> None:
    # Pool processes are forks of the worker: only the worker itself removes the folder.
    if os.getpid() == owner_pid:
        shutil.rmtree(directory, ignore_errors=True)
