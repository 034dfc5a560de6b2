"""Public checks counted per Vietnam day in memory and added to ``public_check_count``
every few seconds, apart from members' lookup counts (the reports show both)."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import date

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.db.engine import Database
from app.db.unit_of_work import unchained_write
from app.models import PublicCheckCount
from app.warnings.counter import vietnam_day

log = logging.getLogger(__name__)


class PublicCheckCounter:
    def __init__(self) -> None:
        self._pending: Counter[tuple[date, bool]] = Counter()

    def count(self, *, listed: bool) -> None:
        day = vietnam_day()
        self._pending[(day, False)] += 1
        if listed:
            self._pending[(day, True)] += 1

    async def flush(self, db: Database) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, Counter()
        rows: dict[date, dict[str, int]] = {}
        for (day, listed), n in pending.items():
            rows.setdefault(day, {"checks": 0, "listed": 0})["listed" if listed else "checks"] += n
        try:
            async with unchained_write(db) as session:
                dialect_insert = sqlite_insert if db.is_sqlite else pg_insert
                for day, values in rows.items():
                    stmt = dialect_insert(PublicCheckCount).values(day=day, **values)
                    stmt = stmt.on_conflict_do_update(
                        index_elements=["day"],
                        set_={
                            "checks": PublicCheckCount.checks + stmt.excluded.checks,
                            "listed": PublicCheckCount.listed + stmt.excluded.listed,
                        },
                    )
                    await session.execute(stmt)
        except Exception:
            self._pending.update(pending)  # kept for the next attempt
            raise

    async def run(self, db: Database, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.flush(db)
            except Exception:  # database down: counts wait in memory
                log.warning("public check count flush failed", exc_info=True)
