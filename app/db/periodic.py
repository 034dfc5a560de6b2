"""The shape of every housekeeping loop inside ``registry serve``.

Expiry, hold lapsing, warning sealing and session cleanup each run one pass every interval:
a pass that fails (the database away) is logged and tried again at the next interval, so a
loop never dies with the server still serving; a pass that changed something says how much.
A loop that writes changes can be paused while the state disagrees with the chain, as
requests are: no change is built on rows that were edited behind it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def every(
    interval: float,
    one_pass: Callable[[], Awaitable[int]],
    *,
    name: str,
    done: str,
    paused: Callable[[], str | None] | None = None,
) -> None:
    """Run ``one_pass`` every ``interval`` seconds, forever.

    ``name`` names the job in failure and pause lines ("flag expiry failed"), ``done`` is
    the line for a pass that changed ``n`` things (``"expired %d unconfirmed flags"``);
    ``paused`` returns why not to run now, or None."""
    while True:
        await asyncio.sleep(interval)
        reason = paused() if paused is not None else None
        if reason is not None:
            log.warning("%s paused: %s", name, reason)
            continue
        try:
            changed = await one_pass()
        except Exception:  # a database fault: try again next interval
            log.warning("%s failed", name, exc_info=True)
            continue
        if changed:
            log.info(done, changed)
