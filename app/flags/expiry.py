"""Expiry of unconfirmed reports: a loop inside ``registry serve``, and one pass for cron."""

from __future__ import annotations

import asyncio
import logging

from app.auth.actor import Actor
from app.db.engine import Database
from app.db.types import utcnow
from app.db.unit_of_work import Refreshable, unit_of_work
from app.flags.service import expire_flags
from app.runtime import Runtime

log = logging.getLogger(__name__)


async def expire_due_flags(
    db: Database, actor: Actor | None = None, *, mirror: Refreshable | None = None
) -> int:
    """Expire every ``reported`` flag past its TTL, in batches (one unit of work each);
    returns how many."""
    total = 0
    while True:
        async with unit_of_work(db, actor or Actor.command_line("expiry"), mirror=mirror) as uow:
            count = await expire_flags(uow, utcnow())
        total += count
        if count == 0:
            return total


async def run_expiry(runtime: Runtime) -> None:
    while True:
        await asyncio.sleep(runtime.settings.expiry_interval_seconds)
        if runtime.mirror.state_error is not None:
            # As for requests: no change is built on rows that disagree with the chain.
            log.warning("flag expiry paused: %s", runtime.mirror.state_error)
            continue
        try:
            expired = await expire_due_flags(runtime.db, mirror=runtime.mirror)
            if expired:
                log.info("expired %d unconfirmed flags", expired)
        except Exception:  # a database fault: try again next interval
            log.warning("flag expiry failed", exc_info=True)
