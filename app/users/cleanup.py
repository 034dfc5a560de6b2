"""Old console sessions deleted: ended or expired ones are kept a day (to see in the table
what happened, e.g. after a disabled user), then go; a loop in ``registry serve`` and a
pass in ``registry expire``. Sessions are not chained: deleting them changes no history."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.config import Settings
from app.db.engine import Database
from app.db.periodic import every
from app.db.unit_of_work import unchained_write
from app.users.repository import SessionRepository

KEPT = timedelta(days=1)
INTERVAL_SECONDS = 3600.0


async def delete_old_sessions(db: Database, settings: Settings, now: datetime) -> int:
    """Delete the sessions ended over a day ago or unused for longer than any session may
    live (the idle and absolute timeouts) plus a day; returns how many."""
    lifetime = max(
        timedelta(minutes=settings.console_idle_minutes),
        timedelta(hours=settings.console_absolute_hours),
    )
    async with unchained_write(db) as session:
        return await SessionRepository(session).delete_finished(
            ended_before=now - KEPT, seen_before=now - lifetime - KEPT
        )


async def run_session_cleanup(db: Database, settings: Settings) -> None:
    from app.db.types import utcnow

    await every(
        INTERVAL_SECONDS,
        lambda: delete_old_sessions(db, settings, utcnow()),
        name="console session cleanup",
        done="deleted %d old console sessions",
    )
