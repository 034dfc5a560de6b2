"""Appending change events: the only writer of ``change_event`` and ``registry_head``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.chain import chain_hash
from app.auth.actor import Actor
from app.db.types import utcnow
from app.models import ChangeEvent, RegistryHead


class EventWriter:
    """Holds the locked head for one write transaction and appends events to the chain.

    Creating it (``await EventWriter.begin(session)``) locks the head row first, so every
    read the transaction makes afterwards sees all earlier commits and no other writer can
    interleave: that is what makes ``seq`` gap-free and the chain linear.
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

    def chain(
        self,
        *,
        entity_type: str,
        entity_id: str,
        entity_version: int,
        action: str,
        state: dict[str, Any],
        subject_key: str | None = None,
        occurred_at: datetime | None = None,
    ) -> dict[str, Any]:
        """The next event's row, ``seq`` and hashes included, with the head moved past it.

        Nothing is written: ``append`` stores the row through the ORM; the bulk import
        stores many at once (``BulkEventWriter``).
        """
        row: dict[str, Any] = {
            "seq": self.head.seq + 1,
            "occurred_at": occurred_at or self.now,
            "entity_type": entity_type,
            "entity_id": entity_id,
            "entity_version": entity_version,
            "action": action,
            "actor_org": self.actor.org_code,
            "actor_client": self.actor.client_id,
            "token_jti": self.actor.jti,
            "request_id": self.actor.request_id,
            "subject_key": subject_key,
            "state": state,
        }
        digest = chain_hash(self.head.hash, row)
        row["prev_hash"] = self.head.hash
        row["hash"] = digest
        self.head.seq = row["seq"]
        self.head.hash = digest
        return row

    async def append(
        self,
        *,
        entity_type: str,
        entity_id: str,
        entity_version: int,
        action: str,
        state: dict[str, Any],
        subject_key: str | None = None,
        occurred_at: datetime | None = None,
    ) -> None:
        """Write the next event of the chain in this transaction."""
        row = self.chain(
            entity_type=entity_type,
            entity_id=entity_id,
            entity_version=entity_version,
            action=action,
            state=state,
            subject_key=subject_key,
            occurred_at=occurred_at,
        )
        await self._store(row)

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

    def add(self, **fields: Any) -> None:
        """``append`` without the coroutine: the bulk path chains tens of thousands."""
        self.rows.append(self.chain(**fields))

    def take(self) -> list[dict[str, Any]]:
        rows, self.rows = self.rows, []
        return rows
