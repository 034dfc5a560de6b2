"""Lookup counts kept in memory and added to ``lookup_count`` every few seconds.

Counting in memory keeps the allow path free of database writes; a ``kill -9`` can lose at
most one flush interval of counts (statistics, never listings or warnings).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import UTC, date, datetime, timedelta, timezone

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.db.engine import Database
from app.db.unit_of_work import unchained_write
from app.models import LookupCount

log = logging.getLogger(__name__)
VIETNAM = timezone(timedelta(hours=7))


def vietnam_day(moment: datetime | None = None) -> date:
    return (moment or datetime.now(UTC)).astimezone(VIETNAM).date()


class LookupCounter:
    def __init__(self) -> None:
        self._pending: Counter[tuple[int, date, bool]] = Counter()

    def count(self, org_id: int, warned: int, total: int = 1) -> None:
        day = vietnam_day()
        self._pending[(org_id, day, False)] += total
        if warned:
            self._pending[(org_id, day, True)] += warned

    async def flush(self, db: Database) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, Counter()
        rows: dict[tuple[int, date], dict[str, int]] = {}
        for (org_id, day, warned), n in pending.items():
            row = rows.setdefault((org_id, day), {"lookups": 0, "warned": 0})
            row["warned" if warned else "lookups"] += n
        try:
            async with unchained_write(db) as session:
                dialect_insert = sqlite_insert if db.is_sqlite else pg_insert
                for (org_id, day), values in rows.items():
                    stmt = dialect_insert(LookupCount).values(
                        organisation_id=org_id, day=day, **values
                    )
                    stmt = stmt.on_conflict_do_update(
                        index_elements=["organisation_id", "day"],
                        set_={
                            "lookups": LookupCount.lookups + stmt.excluded.lookups,
                            "warned": LookupCount.warned + stmt.excluded.warned,
                        },
                    )
                    await session.execute(stmt)
        except Exception:
            self._pending.update(pending)  # keep them for the next attempt
            raise

    async def run(self, db: Database, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.flush(db)
            except Exception:  # database down: counts wait in memory
                log.warning("lookup count flush failed", exc_info=True)
