from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.vocabulary import EntityType
from app.identifiers.normalise import Subject as Identifier
from app.models import ChangeEvent, Dispute, Flag, RegistryHead, Subject


class SubjectRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_key(self, key: str) -> Subject | None:
        stmt = select(Subject).where(Subject.key == key)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def get_or_create(self, identifier: Identifier) -> Subject:
        subject = await self.by_key(identifier.key)
        if subject is None:
            subject = Subject(
                key=identifier.key,
                kind=identifier.kind,
                institution=identifier.institution,
                identifier=identifier.identifier,
                risk_level=0,
                categories=[],
                under_dispute=False,
                version=0,
            )
            self.session.add(subject)
            await self.session.flush()
        return subject

    async def has_open_dispute(self, subject_id: int) -> bool:
        stmt = select(Dispute.id).where(Dispute.subject_id == subject_id, Dispute.status == "open")
        return (await self.session.execute(stmt.limit(1))).first() is not None

    async def flags_of(self, subject_id: int) -> Sequence[Flag]:
        stmt = select(Flag).where(Flag.subject_id == subject_id).order_by(Flag.created_at)
        return (await self.session.execute(stmt)).scalars().all()


class SubjectEventRepository:
    """Reads of the change events that concern subjects (history, feed, point in time)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def history(self, key: str, after: int, limit: int) -> Sequence[ChangeEvent]:
        stmt = (
            select(ChangeEvent)
            .where(ChangeEvent.subject_key == key, ChangeEvent.seq > after)
            .order_by(ChangeEvent.seq)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def up_to(self, key: str, version: int) -> Sequence[ChangeEvent]:
        stmt = (
            select(ChangeEvent)
            .where(ChangeEvent.subject_key == key, ChangeEvent.seq <= version)
            .order_by(ChangeEvent.seq)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def subject_changes(self, after: int, limit: int) -> Sequence[ChangeEvent]:
        stmt = (
            select(ChangeEvent)
            .where(ChangeEvent.entity_type == EntityType.SUBJECT, ChangeEvent.seq > after)
            .order_by(ChangeEvent.seq)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def version_at(self, moment: object) -> int:
        stmt = (
            select(ChangeEvent.seq)
            .where(ChangeEvent.occurred_at <= moment)
            .order_by(ChangeEvent.seq.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() or 0

    async def head(self) -> int:
        """The registry version: the newest committed ``seq``."""
        return (await self.session.execute(select(RegistryHead.seq))).scalar_one()
