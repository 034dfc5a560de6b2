"""Expiry of unconfirmed reports: a loop inside ``registry serve``, and one pass for cron."""

from __future__ import annotations

import asyncio
import logging

from app.auth.actor import Actor
from app.db.engine import Database
from app.db.types import utcnow
from app.flags.service import expire_flags
from app.runtime import Runtime

log = logging.getLogger(__name__)


async def expire_due_flags(db: Database, actor: Actor | None = None) -> int:
    """Expire every ``reported`` flag past its TTL, in batches; returns how many."""
    total = 0
    while True:
        async with db.write_session() as session:
            count = await expire_flags(session, actor or Actor.command_line("expiry"), utcnow())
            await session.commit()
        total += count
        if count == 0:
            return total


async def run_expiry(runtime: Runtime) -> None:
    while True:
        await asyncio.sleep(runtime.settings.expiry_interval_seconds)
        try:
            expired = await expire_due_flags(runtime.db)
            if expired:
                log.info("expired %d unconfirmed flags", expired)
                await runtime.mirror.refresh()
        except Exception:  # a database fault: try again next interval
            log.warning("flag expiry failed", exc_info=True)
