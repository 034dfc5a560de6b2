"""Graceful shutdown: on SIGTERM, report unready first, then let uvicorn drain.

A load balancer polling ``/readyz`` sees 503 for ``shutdown_drain_seconds`` before the
server stops accepting connections; in-flight requests then finish (uvicorn's graceful
timeout) before the process exits.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from types import FrameType

from app.runtime import Runtime

log = logging.getLogger(__name__)


def drain_on_sigterm(runtime: Runtime, drain_seconds: float) -> None:
    """Chain in front of uvicorn's SIGTERM handler (only when uvicorn installed one)."""
    if threading.current_thread() is not threading.main_thread():
        return
    previous = signal.getsignal(signal.SIGTERM)
    if not callable(previous) or getattr(previous, "__name__", "") != "handle_exit":
        return  # not under uvicorn's signal capture (tests, embedding): leave signals alone
    loop = asyncio.get_running_loop()

    def on_sigterm(sig: int, frame: FrameType | None) -> None:
        if not runtime.ready:
            previous(sig, frame)  # a second SIGTERM: stop draining now
            return
        runtime.ready = False
        log.info("SIGTERM: unready now, stopping in %.1f s", drain_seconds)
        loop.call_soon_threadsafe(loop.call_later, drain_seconds, previous, sig, frame)

    signal.signal(signal.SIGTERM, on_sigterm)
