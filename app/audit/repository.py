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
    ) -> ChangeEvent:
        fields: dict[str, Any] = {
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
        digest = chain_hash(self.head.hash, fields)
        event = ChangeEvent(**fields, prev_hash=self.head.hash, hash=digest)
        self.session.add(event)
        self.head.seq = event.seq
        self.head.hash = digest
        self.appended.append(event)
        await self.session.flush()
        return event
