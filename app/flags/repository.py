from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.flags.schemas import FlagStatus
from app.models import Flag, Organisation, Subject
from app.subjects.risk import ACTIVE_STATUSES

FlagRow = tuple[Flag, Subject, Organisation]


class FlagRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _joined(self) -> Select[Flag, Subject, Organisation]:
        return (
            select(Flag, Subject, Organisation)
            .join(Subject, Subject.id == Flag.subject_id)
            .join(Organisation, Organisation.id == Flag.organisation_id)
        )

    async def get(self, flag_id: str) -> FlagRow | None:
        row = (await self.session.execute(self._joined().where(Flag.id == flag_id))).first()
        return None if row is None else (row[0], row[1], row[2])

    async def active_of(self, subject_id: int, org_id: int) -> Flag | None:
        """The organisation's active flag on the subject (at most one: SPEC §8)."""
        stmt = select(Flag).where(
            Flag.subject_id == subject_id,
            Flag.organisation_id == org_id,
            Flag.status.in_(ACTIVE_STATUSES),
        )
        return (await self.session.execute(stmt)).scalars().first()

    async def by_import_fingerprint(self, org_id: int, fingerprint: str) -> Flag | None:
        stmt = select(Flag).where(
            Flag.organisation_id == org_id, Flag.import_fingerprint == fingerprint
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def page(
        self,
        *,
        org_id: int | None,
        status: str | None,
        category: str | None,
        key: str | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[FlagRow]:
        stmt = self._joined()
        if org_id is not None:
            stmt = stmt.where(Flag.organisation_id == org_id)
        if status is not None:
            stmt = stmt.where(Flag.status == status)
        if category is not None:
            stmt = stmt.where(Flag.category == category)
        if key is not None:
            stmt = stmt.where(Subject.key == key)
        if after is not None:
            stmt = stmt.where(tuple_(Flag.created_at, Flag.id) > tuple_(*after))
        stmt = stmt.order_by(Flag.created_at, Flag.id).limit(limit)
        return [(r[0], r[1], r[2]) for r in (await self.session.execute(stmt)).all()]

    async def due_to_expire(self, now: datetime, limit: int) -> Sequence[Flag]:
        stmt = (
            select(Flag)
            .where(Flag.status == FlagStatus.REPORTED, Flag.expires_at <= now)
            .order_by(Flag.expires_at)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()
