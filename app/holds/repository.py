from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, false, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.models import Hold, Organisation, Subject

HoldRow = tuple[Hold, Subject, Organisation, Organisation]
Requesting = aliased(Organisation, name="requesting")
Holding = aliased(Organisation, name="holding")


def joined() -> Select[Hold, Subject, Organisation, Organisation]:
    """A hold with its subject, requester and holder (the columns its state is made of)."""
    return (
        select(Hold, Subject, Requesting, Holding)
        .join(Subject, Subject.id == Hold.subject_id)
        .join(Requesting, Requesting.id == Hold.requester_id)
        .join(Holding, Holding.id == Hold.holder_id)
    )


class HoldRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, hold_id: str) -> HoldRow | None:
        row = (await self.session.execute(joined().where(Hold.id == hold_id))).first()
        return None if row is None else (row[0], row[1], row[2], row[3])

    async def holder_of(self, kind: str, institution: str) -> Organisation | None:
        """The registered, active organisation of an institution (the first one made)."""
        stmt = (
            select(Organisation)
            .where(
                Organisation.kind == kind,
                Organisation.institution == institution,
                Organisation.active.is_(True),
            )
            .order_by(Organisation.id)
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def page(
        self,
        *,
        requester_id: int | None,
        holder: tuple[str, str] | None,
        role: str | None,
        every: bool,
        status: str | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[HoldRow]:
        """Holds oldest first: requested by ``requester_id`` (``role="requester"``), on
        accounts of ``holder`` = (subject kind, institution) (``role="holder"``), either
        (no role), or, for a caller who sees ``every`` hold and names no role, all."""
        requested = Hold.requester_id == requester_id
        held = (
            false()
            if holder is None
            else (Subject.kind == holder[0]) & (Subject.institution == holder[1])
        )
        stmt = joined()
        if role == "requester":
            stmt = stmt.where(requested)
        elif role == "holder":
            stmt = stmt.where(held)
        elif not every:
            stmt = stmt.where(or_(requested, held))
        if status is not None:
            stmt = stmt.where(Hold.status == status)
        if after is not None:
            stmt = stmt.where(tuple_(Hold.created_at, Hold.id) > tuple_(*after))
        stmt = stmt.order_by(Hold.created_at, Hold.id).limit(limit)
        return [(r[0], r[1], r[2], r[3]) for r in (await self.session.execute(stmt)).all()]

    async def due_to_lapse(self, now: datetime, limit: int) -> Sequence[str]:
        stmt = (
            select(Hold.id)
            .where(Hold.status == "held", Hold.confirm_by < now)
            .order_by(Hold.confirm_by, Hold.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def lapse(self, hold_id: str, now: datetime) -> bool:
        """Move one hold from held to lapsed, only if it still is held and past due: a
        conditional UPDATE, so that of two lapsers only one ever changes (and chains) it."""
        stmt = (
            update(Hold)
            .where(Hold.id == hold_id, Hold.status == "held", Hold.confirm_by < now)
            .values(status="lapsed", version=Hold.version + 1, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        result = await self.session.execute(stmt)
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]
