"""Metrics across ``registry serve --workers N`` processes (prometheus_client's
multi-process mode).

Each worker is a separate interpreter (uvicorn spawns them), so each counts into its own
memory-mapped files in ``PROMETHEUS_MULTIPROC_DIR``, and the worker answering a scrape adds
every file up. The serve command owns that directory: ``serving_metrics`` makes a fresh
private one (0700, empty) before any worker starts, points the variable at it for the
workers to inherit, marks exited workers dead while it serves and removes the directory
when the server stops. A directory left by an earlier run is never reused: its counts
would be added to this run's.

With one process (``--workers 1``, the tests) there is no directory: the default registry
holds the values in memory.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from prometheus_client.multiprocess import mark_process_dead

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# The files of live-mode gauges end in the pid of the process that wrote them.
_LIVE_FILE = re.compile(r"gauge_live[a-z]+_(\d+)\.db")


def worker_started() -> None:
    """A serving process is up: its series of ``registry_worker_start_time_seconds``."""
    from app.metrics.metrics import WORKER_START

    WORKER_START.set_to_current_time()


def worker_stopping() -> None:
    """A worker shutting down takes its live gauges out of the sum itself."""
    path = os.environ.get(MULTIPROC_ENV)
    if path and os.path.isdir(path):
        mark_process_dead(os.getpid(), path)  # type: ignore[no-untyped-call]


class DeadWorkerSweeper(threading.Thread):
    """In the serve command: marks dead the workers that exited without doing so (killed,
    crashed), so their live gauges leave the sum; their counters stay in the totals."""

    def __init__(self, path: Path, interval: float = 1.0) -> None:
        super().__init__(name="metrics-dead-worker-sweeper", daemon=True)
        self.path = path
        self.interval = interval
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            try:
                self.sweep()
            except OSError:  # the directory went away under us: nothing left to sweep
                log.debug("metrics sweep failed", exc_info=True)

    def sweep(self) -> list[int]:
        """Mark dead every pid with live-gauge files that is no longer running."""
        dead = []
        for entry in os.scandir(self.path):
            match = _LIVE_FILE.fullmatch(entry.name)
            if match is not None and not _running(int(match.group(1))):
                dead.append(int(match.group(1)))
        for pid in sorted(set(dead)):
            mark_process_dead(pid, str(self.path))  # type: ignore[no-untyped-call]
        return dead

    def stop(self) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout=5)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process reusing the pid: not ours, not dead
        return True
    return True


def fresh_private_dir() -> Path:
    """A new, empty directory only this user can enter."""
    path = Path(tempfile.mkdtemp(prefix="registry-metrics-"))
    path.chmod(0o700)  # mkdtemp's mode already; said here because it matters
    return path


@contextlib.contextmanager
def serving_metrics(workers: int, enabled: bool) -> Iterator[Path | None]:
    """Around ``uvicorn.run``: the multi-process directory for ``workers`` > 1, else None.

    Any ``PROMETHEUS_MULTIPROC_DIR`` inherited from the caller's environment is dropped:
    only a directory this command made and will remove is used.
    """
    os.environ.pop(MULTIPROC_ENV, None)
    if workers <= 1 or not enabled:
        yield None
        return
    path = fresh_private_dir()
    os.environ[MULTIPROC_ENV] = str(path)
    sweeper = DeadWorkerSweeper(path)
    sweeper.start()
    try:
        yield path
    finally:
        sweeper.stop()
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(path, ignore_errors=True)
