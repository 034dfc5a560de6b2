from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.sums import combine, sum_parts
from app.models import Organisation, RecoveryEntry, Subject

Sums = dict[tuple[str | None, str], int]


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

    async def page(
        self,
        holdings: tuple[frozenset[str], str | None] | None,
        before: tuple[datetime, str] | None,
        limit: int,
    ) -> list[tuple[RecoveryEntry, Subject, Organisation]]:
        """Entries newest first, of every subject (``holdings`` None) or of the subjects of
        those kinds held at that institution; ``before`` is the last row of the last page."""
        stmt = (
            select(RecoveryEntry, Subject, Organisation)
            .join(Subject, Subject.id == RecoveryEntry.subject_id)
            .join(Organisation, Organisation.id == RecoveryEntry.organisation_id)
        )
        if holdings is not None:
            kinds, institution = holdings
            if not kinds or institution is None:
                return []
            stmt = stmt.where(Subject.kind.in_(sorted(kinds)), Subject.institution == institution)
        if before is not None:
            stmt = stmt.where(tuple_(RecoveryEntry.created_at, RecoveryEntry.id) < tuple_(*before))
        stmt = stmt.order_by(RecoveryEntry.created_at.desc(), RecoveryEntry.id.desc()).limit(limit)
        return [(e, s, o) for e, s, o in (await self.session.execute(stmt)).all()]

    async def sums_of(self, subject_ids: Collection[int]) -> dict[int, Sums]:
        """``sums`` of several subjects at once, keyed by subject id."""
        if not subject_ids:
            return {}
        stmt = (
            select(
                RecoveryEntry.subject_id,
                RecoveryEntry.case_reference,
                RecoveryEntry.action,
                *sum_parts(RecoveryEntry.amount_vnd),
            )
            .where(RecoveryEntry.subject_id.in_(sorted(subject_ids)))
            .group_by(RecoveryEntry.subject_id, RecoveryEntry.case_reference, RecoveryEntry.action)
        )
        found: dict[int, Sums] = {subject_id: {} for subject_id in subject_ids}
        for subject_id, case, action, high, low in (await self.session.execute(stmt)).all():
            found[subject_id][(case, action)] = combine(high, low)
        return found
