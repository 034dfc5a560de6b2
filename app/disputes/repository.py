from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Dispute, Organisation, Subject

DisputeRow = tuple[Dispute, Subject, Organisation]


class DisputeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _joined(self) -> Select[Dispute, Subject, Organisation]:
        return (
            select(Dispute, Subject, Organisation)
            .join(Subject, Subject.id == Dispute.subject_id)
            .join(Organisation, Organisation.id == Dispute.organisation_id)
        )

    async def get(self, dispute_id: str) -> DisputeRow | None:
        row = (await self.session.execute(self._joined().where(Dispute.id == dispute_id))).first()
        return None if row is None else (row[0], row[1], row[2])

    async def open_for_subject(self, subject_id: int) -> Sequence[Dispute]:
        stmt = select(Dispute).where(Dispute.subject_id == subject_id, Dispute.status == "open")
        return (await self.session.execute(stmt)).scalars().all()

    async def page(
        self,
        *,
        org_id: int | None,
        status: str | None,
        overdue_at: datetime | None,
        key: str | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[DisputeRow]:
        stmt = self._joined()
        if org_id is not None:
            stmt = stmt.where(Dispute.organisation_id == org_id)
        if status is not None:
            stmt = stmt.where(Dispute.status == status)
        if overdue_at is not None:
            stmt = stmt.where(Dispute.status == "open", Dispute.due_at < overdue_at)
        if key is not None:
            stmt = stmt.where(Subject.key == key)
        if after is not None:
            stmt = stmt.where(tuple_(Dispute.created_at, Dispute.id) > tuple_(*after))
        stmt = stmt.order_by(Dispute.created_at, Dispute.id).limit(limit)
        return [(r[0], r[1], r[2]) for r in (await self.session.execute(stmt)).all()]

    async def open_by_deadline(
        self, *, after: tuple[datetime, str] | None, limit: int
    ) -> list[DisputeRow]:
        """Open disputes, earliest deadline first: the overdue ones (deadline passed) come
        before the rest, most overdue first. ``after`` is a (due_at, id) position."""
        stmt = self._joined().where(Dispute.status == "open")
        if after is not None:
            stmt = stmt.where(tuple_(Dispute.due_at, Dispute.id) > tuple_(*after))
        stmt = stmt.order_by(Dispute.due_at, Dispute.id).limit(limit)
        return [(r[0], r[1], r[2]) for r in (await self.session.execute(stmt)).all()]
