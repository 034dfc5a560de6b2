"""Queries of console users and sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import ConsoleSession, Organisation, StaffUser


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_id(self, user_id: str) -> tuple[StaffUser, Organisation] | None:
        row = (
            await self.session.execute(
                select(StaffUser, Organisation)
                .join(Organisation, Organisation.id == StaffUser.organisation_id)
                .where(StaffUser.id == user_id)
            )
        ).first()
        return None if row is None else (row[0], row[1])

    async def by_username(self, username: str) -> tuple[StaffUser, Organisation] | None:
        row = (
            await self.session.execute(
                select(StaffUser, Organisation)
                .join(Organisation, Organisation.id == StaffUser.organisation_id)
                .where(StaffUser.username == username)
            )
        ).first()
        return None if row is None else (row[0], row[1])

    async def by_enrolment(self, digest: str) -> tuple[StaffUser, Organisation] | None:
        row = (
            await self.session.execute(
                select(StaffUser, Organisation)
                .join(Organisation, Organisation.id == StaffUser.organisation_id)
                .where(StaffUser.enrolment_hash == digest)
            )
        ).first()
        return None if row is None else (row[0], row[1])

    async def page(
        self, *, org_id: int | None, after: str | None, limit: int
    ) -> list[tuple[StaffUser, Organisation]]:
        query = select(StaffUser, Organisation).join(
            Organisation, Organisation.id == StaffUser.organisation_id
        )
        if org_id is not None:
            query = query.where(StaffUser.organisation_id == org_id)
        if after is not None:
            query = query.where(StaffUser.username > after)
        rows = await self.session.execute(query.order_by(StaffUser.username).limit(limit))
        return [(u, o) for u, o in rows]

    async def claim_step(self, user_id: str, step: int) -> bool:
        """Record ``step`` as the last TOTP step used, unless it (or a later one) already is:
        of two sign-ins racing with the same code, exactly one wins."""
        result = await self.session.execute(
            update(StaffUser)
            .where(
                StaffUser.id == user_id,
                (StaffUser.totp_last_step.is_(None)) | (StaffUser.totp_last_step < step),
            )
            .values(totp_last_step=step)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    async def add(self, user: StaffUser) -> StaffUser:
        self.session.add(user)
        await self.session.flush()
        return user


class SessionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_id(self, session_id: str) -> ConsoleSession | None:
        return await self.session.get(ConsoleSession, session_id)

    async def add(self, row: ConsoleSession) -> None:
        self.session.add(row)
        await self.session.flush()

    async def end_all(self, user_id: str, at: datetime) -> None:
        await self.session.execute(
            update(ConsoleSession)
            .where(ConsoleSession.user_id == user_id, ConsoleSession.ended_at.is_(None))
            .values(ended_at=at)
        )

    async def delete_finished(self, ended_before: datetime, seen_before: datetime) -> int:
        """Delete sessions ended before ``ended_before`` or unused since ``seen_before``
        (expired without anyone noticing); returns how many."""
        result = await self.session.execute(
            delete(ConsoleSession).where(
                or_(
                    ConsoleSession.ended_at < ended_before,
                    ConsoleSession.last_seen_at < seen_before,
                )
            )
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
