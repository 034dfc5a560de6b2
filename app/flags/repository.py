from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import Select, func, select, tuple_
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
        institutions: Collection[str] | None = None,
        reporter_kind: str | None = None,
        created_from: datetime | None = None,
        created_before: datetime | None = None,
    ) -> list[FlagRow]:
        """Flags oldest first, after the cursor ``after``; every filter given narrows.

        ``institutions`` are the subject's (BINs, e-wallet codes), ``reporter_kind`` the
        reporting organisation's kind, and ``created_from`` (inclusive) to ``created_before``
        (exclusive) bound the time of the report."""
        stmt = self._joined()
        if org_id is not None:
            stmt = stmt.where(Flag.organisation_id == org_id)
        if status is not None:
            stmt = stmt.where(Flag.status == status)
        if category is not None:
            stmt = stmt.where(Flag.category == category)
        if key is not None:
            stmt = stmt.where(Subject.key == key)
        if institutions is not None:
            stmt = stmt.where(Subject.institution.in_(list(institutions)))
        if reporter_kind is not None:
            stmt = stmt.where(Organisation.kind == reporter_kind)
        if created_from is not None:
            stmt = stmt.where(Flag.created_at >= created_from)
        if created_before is not None:
            stmt = stmt.where(Flag.created_at < created_before)
        if after is not None:
            stmt = stmt.where(tuple_(Flag.created_at, Flag.id) > tuple_(*after))
        stmt = stmt.order_by(Flag.created_at, Flag.id).limit(limit)
        return [(r[0], r[1], r[2]) for r in (await self.session.execute(stmt)).all()]

    async def count(self, *, status: str | None = None, org_id: int | None = None) -> int:
        """How many flags there are, of ``status`` and of organisation ``org_id`` if given."""
        stmt = select(func.count()).select_from(Flag)
        if status is not None:
            stmt = stmt.where(Flag.status == status)
        if org_id is not None:
            stmt = stmt.where(Flag.organisation_id == org_id)
        return int((await self.session.execute(stmt)).scalar_one())

    async def due_to_expire(self, now: datetime, limit: int) -> Sequence[Flag]:
        stmt = (
            select(Flag)
            .where(Flag.status == FlagStatus.REPORTED, Flag.expires_at <= now)
            .order_by(Flag.expires_at)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()
