from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.sums import combine, sum_parts
from app.models import Organisation, RecoveryEntry


class RecoveryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def sums(self, subject_id: int) -> dict[tuple[str | None, str], int]:
        """Amounts per (case reference, action) for one subject, exact however large."""
        stmt = (
            select(
                RecoveryEntry.case_reference,
                RecoveryEntry.action,
                *sum_parts(RecoveryEntry.amount_vnd),
            )
            .where(RecoveryEntry.subject_id == subject_id)
            .group_by(RecoveryEntry.case_reference, RecoveryEntry.action)
        )
        return {
            (case, action): combine(high, low)
            for case, action, high, low in (await self.session.execute(stmt)).all()
        }

    async def entries(self, subject_id: int) -> Sequence[tuple[RecoveryEntry, Organisation]]:
        stmt = (
            select(RecoveryEntry, Organisation)
            .join(Organisation, Organisation.id == RecoveryEntry.organisation_id)
            .where(RecoveryEntry.subject_id == subject_id)
            .order_by(RecoveryEntry.created_at, RecoveryEntry.id)
        )
        return [(e, o) for e, o in (await self.session.execute(stmt)).all()]
