"""Queries of the portal's tables: citizen reports and bulletins."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Bulletin, CitizenReport, Organisation

BulletinRow = tuple[Bulletin, Organisation]


class CitizenReportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, report: CitizenReport) -> None:
        self.session.add(report)
        await self.session.flush()

    async def get(self, report_id: str) -> CitizenReport | None:
        return await self.session.get(CitizenReport, report_id)

    async def with_status(self, status: str, limit: int) -> Sequence[CitizenReport]:
        """Oldest first: the queue is worked from its head."""
        stmt = (
            select(CitizenReport)
            .where(CitizenReport.status == status)
            .order_by(CitizenReport.created_at, CitizenReport.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def count(self, status: str) -> int:
        stmt = select(func.count()).where(CitizenReport.status == status)
        return int((await self.session.execute(stmt)).scalar_one())


class BulletinRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, bulletin: Bulletin) -> None:
        self.session.add(bulletin)
        await self.session.flush()

    async def latest(self, limit: int) -> list[BulletinRow]:
        stmt = (
            select(Bulletin, Organisation)
            .join(Organisation, Organisation.id == Bulletin.organisation_id)
            .order_by(Bulletin.published_at.desc(), Bulletin.id)
            .limit(limit)
        )
        return [(b, o) for b, o in (await self.session.execute(stmt)).all()]

    async def get(self, bulletin_id: str) -> BulletinRow | None:
        stmt = (
            select(Bulletin, Organisation)
            .join(Organisation, Organisation.id == Bulletin.organisation_id)
            .where(Bulletin.id == bulletin_id)
        )
        row = (await self.session.execute(stmt)).first()
        return None if row is None else (row[0], row[1])
