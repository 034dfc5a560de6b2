"""Limits on what anyone without an account may do: per source address and, for every
address together, a global budget, over fixed windows of the shared rate-limit store
(Redis when configured, else this process)."""

from __future__ import annotations

import logging
import time
from enum import StrEnum

from fastapi import Request

from app.errors import RateLimited
from app.runtime import Runtime

log = logging.getLogger(__name__)


class PublicAction(StrEnum):
    CHECK = "check"
    REPORT = "report"


def client_address(request: Request) -> str:
    """The caller's address as the server sees it (behind a proxy, run uvicorn with
    ``--proxy-headers`` and ``--forwarded-allow-ips`` so this is the citizen's)."""
    return request.client.host if request.client else "unknown"


def _limits(runtime: Runtime, action: PublicAction) -> tuple[int, int, int]:
    s = runtime.settings
    if action == PublicAction.CHECK:
        return s.public_checks_per_address, s.public_checks_global, s.public_check_window_seconds
    return s.public_reports_per_address, s.public_reports_global, s.public_report_window_seconds


async def check_public_limit(request: Request, action: PublicAction) -> None:
    """429 with ``Retry-After`` once this address, or everyone together, used the window."""
    runtime: Runtime = request.app.state.runtime
    per_address, overall, window = _limits(runtime, action)
    names = [f"public:{action}:{client_address(request)}", f"public:{action}:*"]
    try:
        mine, everyone = await runtime.limiter.store.add_counts(names, 1, window)
    except Exception:  # the shared store is down: citizens keep being answered, say so
        log.warning("rate-limit store unavailable", exc_info=True)
        return
    retry_after = window - time.time() % window
    if mine > per_address:
        raise RateLimited(f"more than {per_address} per {window} s from this address", retry_after)
    if everyone > overall:
        raise RateLimited("the service is answering too many people; try again soon", retry_after)
