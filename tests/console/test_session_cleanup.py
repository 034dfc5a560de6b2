"""Old console sessions are deleted (a day after they end or could no longer be used);
live ones and recently ended ones stay."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy import select

from app.db.types import utcnow
from app.db.unit_of_work import unchained_write
from app.models import ConsoleSession, StaffUser
from app.users.cleanup import delete_old_sessions
from tests.console.support import invite
from tests.factories import make_org


async def test_only_sessions_over_and_a_day_old_are_deleted(app: FastAPI) -> None:
    runtime = app.state.runtime
    await make_org(app, "C06", "police")
    await invite(app, "C06", "an.nguyen", "analyst")
    async with runtime.db.read_session() as session:
        user_id = (await session.scalars(select(StaffUser.id))).one()
    now = utcnow()
    hours = timedelta(hours=1)
    lifetime = timedelta(hours=runtime.settings.console_absolute_hours)
    rows = {
        "live": (now - hours, now, None),
        "ended-an-hour-ago": (now - 2 * hours, now - hours, now - hours),
        "ended-two-days-ago": (now - 50 * hours, now - 49 * hours, now - 48 * hours),
        "abandoned-recently": (now - lifetime, now - lifetime, None),
        "abandoned-long-ago": (now - lifetime - 30 * hours, now - lifetime - 26 * hours, None),
    }
    async with unchained_write(runtime.db) as session:
        for name, (created, seen, ended) in rows.items():
            session.add(
                ConsoleSession(
                    id=name,
                    user_id=user_id,
                    csrf_token="x",
                    created_at=created,
                    last_seen_at=seen,
                    ended_at=ended,
                )
            )
    assert await delete_old_sessions(runtime.db, runtime.settings, now) == 2
    async with runtime.db.read_session() as session:
        left = set((await session.scalars(select(ConsoleSession.id))).all())
    assert left == {"live", "ended-an-hour-ago", "abandoned-recently"}
    assert await delete_old_sessions(runtime.db, runtime.settings, now) == 0
