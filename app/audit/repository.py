"""Appending change events: the only writer of ``change_event`` and ``registry_head``.

Only ``app.db.unit_of_work`` begins an ``EventWriter``: that is where the lock is taken.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.chain import chain_hash
from app.audit.vocabulary import Change
from app.auth.actor import Actor
from app.db.types import utcnow
from app.models import ChangeEvent, RegistryHead


class EventWriter:
    """Holds the locked head for one write transaction and appends events to the chain.

    Beginning it (``EventWriter.begin``, called by the unit of work only)
    locks the head row first, so every read the transaction makes afterwards sees all
    earlier commits and no other writer can interleave: that is what makes ``seq``
    gap-free and the chain linear.
    """

    def __init__(self, session: AsyncSession, head: RegistryHead, actor: Actor) -> None:
        self.session = session
        self.head = head
        self.actor = actor
        self.now = utcnow()
        self.appended: list[ChangeEvent] = []

    @classmethod
    async def begin(cls, session: AsyncSession, actor: Actor) -> EventWriter:
        head = (
            await session.execute(
                select(RegistryHead).where(RegistryHead.id == 1).with_for_update()
            )
        ).scalar_one()
        return cls(session, head, actor)

    def chain(self, change: Change) -> dict[str, Any]:
        """The next event's row, ``seq`` and hashes included, with the head moved past it.

        Nothing is written: ``append`` stores the row through the ORM; the bulk import
        stores many at once (``BulkEventWriter``).
        """
        row: dict[str, Any] = {
            "seq": self.head.seq + 1,
            "occurred_at": change.occurred_at or self.now,
            "entity_type": change.entity_type,
            "entity_id": change.entity_id,
            "entity_version": change.entity_version,
            "action": change.action,
            "actor_org": self.actor.org_code,
            "actor_client": self.actor.client_id,
            "token_jti": self.actor.jti,
            "request_id": self.actor.request_id,
            "subject_key": change.subject_key,
            "state": change.state,
        }
        digest = chain_hash(self.head.hash, row)
        row["prev_hash"] = self.head.hash
        row["hash"] = digest
        self.head.seq = row["seq"]
        self.head.hash = digest
        return row

    async def append(self, change: Change) -> None:
        """Write the next event of the chain in this transaction."""
        await self._store(self.chain(change))

    async def _store(self, row: dict[str, Any]) -> None:
        event = ChangeEvent(**row)
        self.session.add(event)
        self.appended.append(event)
        await self.session.flush()


class BulkEventWriter(EventWriter):
    """Collects event rows instead of flushing each; ``take()`` hands them to one INSERT.

    The head row is still the locked ORM object, updated by the caller's flush.
    """

    def __init__(self, session: AsyncSession, head: RegistryHead, actor: Actor) -> None:
        super().__init__(session, head, actor)
        self.rows: list[dict[str, Any]] = []

    async def _store(self, row: dict[str, Any]) -> None:
        self.rows.append(row)

    def add(self, change: Change) -> None:
        """``append`` without the coroutine: the bulk path chains tens of thousands."""
        self.rows.append(self.chain(change))

    def take(self) -> list[dict[str, Any]]:
        rows, self.rows = self.rows, []
        return rows


async def filtered_events(
    session: AsyncSession,
    *,
    after: int,
    limit: int,
    actor_org: str | None = None,
    entity_type: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Sequence[ChangeEvent]:
    """Change events after ``after`` in ``seq`` order, narrowed by who, what and when (the
    auditors' browser); every filter is an indexed or sequential scan of the chain."""
    stmt = select(ChangeEvent).where(ChangeEvent.seq > after)
    if actor_org:
        stmt = stmt.where(ChangeEvent.actor_org == actor_org)
    if entity_type:
        stmt = stmt.where(ChangeEvent.entity_type == entity_type)
    if action:
        stmt = stmt.where(ChangeEvent.action == action)
    if since is not None:
        stmt = stmt.where(ChangeEvent.occurred_at >= since)
    if until is not None:
        stmt = stmt.where(ChangeEvent.occurred_at < until)
    return (await session.execute(stmt.order_by(ChangeEvent.seq).limit(limit))).scalars().all()
