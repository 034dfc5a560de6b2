"""Lapsing holds not confirmed by ``confirm_by`` (SPEC §10): a loop inside ``registry
serve`` and one pass in ``registry expire``.

Safe with several processes: each pass runs in a unit of work (which holds the registry's
write lock), and each hold moves by a conditional ``UPDATE ... WHERE status = 'held' AND
confirm_by < now``; only a hold that this UPDATE changed is chained, so two lapsers never
both lapse, nor both chain, the same hold. A lapsed hold keeps its money held until the
holder (told by its status) or police release it.
"""

from __future__ import annotations

from datetime import datetime

from app.audit.vocabulary import Action
from app.auth.actor import Actor
from app.db.engine import Database
from app.db.periodic import every
from app.db.types import utcnow
from app.db.unit_of_work import Refreshable, UnitOfWork, unit_of_work
from app.holds.repository import HoldRepository
from app.holds.service import hold_change, notify_hold
from app.runtime import Runtime
from app.webhooks.events import EventType


async def lapse_holds(uow: UnitOfWork, now: datetime, limit: int = 500) -> int:
    """Lapse up to ``limit`` held holds past ``confirm_by``; returns how many this did."""
    repo = HoldRepository(uow.session)
    count = 0
    for hold_id in await repo.due_to_lapse(now, limit):
        if not await repo.lapse(hold_id, now):
            continue  # somebody else moved it first
        row = await repo.get(hold_id)
        assert row is not None
        await uow.session.refresh(row[0])
        await uow.record(hold_change(row, Action.LAPSED))
        await notify_hold(uow, row, EventType.HOLD_UPDATED, Action.LAPSED)
        count += 1
    return count


async def lapse_due_holds(
    db: Database,
    actor: Actor | None = None,
    *,
    now: datetime | None = None,
    mirror: Refreshable | None = None,
) -> int:
    """Lapse every due hold, in batches (one unit of work each); returns how many."""
    total = 0
    while True:
        async with unit_of_work(
            db, actor or Actor.command_line("hold-lapse"), mirror=mirror
        ) as uow:
            count = await lapse_holds(uow, now or utcnow())
        total += count
        if count == 0:
            return total


async def run_lapsing(runtime: Runtime) -> None:
    await every(
        runtime.settings.expiry_interval_seconds,
        lambda: lapse_due_holds(runtime.db, mirror=runtime.mirror),
        name="hold lapsing",
        done="lapsed %d unconfirmed holds",
        paused=lambda: runtime.mirror.state_error,
    )
