"""Expiry of unconfirmed reports: a loop inside ``registry serve``, and one pass for cron."""

from __future__ import annotations

from app.auth.actor import Actor
from app.db.engine import Database
from app.db.periodic import every
from app.db.types import utcnow
from app.db.unit_of_work import Refreshable, unit_of_work
from app.flags.service import expire_flags
from app.runtime import Runtime


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
    await every(
        runtime.settings.expiry_interval_seconds,
        lambda: expire_due_flags(runtime.db, mirror=runtime.mirror),
        name="flag expiry",
        done="expired %d unconfirmed flags",
        paused=lambda: runtime.mirror.state_error,
    )
