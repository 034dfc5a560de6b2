"""Group commit for warnings: many lookups' warnings share one transaction.

Each warn/hold lookup waits until its warning is committed (so a ``warning_id`` handed out
always exists), but concurrent lookups are written together: one commit and one fsync per
batch instead of one per lookup.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

from sqlalchemy import Table, insert

from app.db.engine import Database
from app.models import Warning

Row = dict[str, Any]
# The table, not the entity: an ORM-enabled insert adds per-row bookkeeping.
_WARNINGS = cast(Table, Warning.__table__)

log = logging.getLogger(__name__)


class WarningWriter:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._pending: list[tuple[list[Row], asyncio.Future[None]]] = []
        self._wake = asyncio.Event()

    async def write(self, rows: list[Row]) -> None:
        """Return once ``rows`` are committed; raise what the commit raised."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((rows, future))
        self._wake.set()
        await future

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._pending = self._pending, []
            if batch:
                await self._commit(batch)

    async def _commit(self, batch: list[tuple[list[Row], asyncio.Future[None]]]) -> None:
        try:
            async with self.db.write_session() as session:
                # Core executemany: no ORM object or unit-of-work bookkeeping per warning.
                await session.execute(insert(_WARNINGS), [row for rows, _ in batch for row in rows])
                await session.commit()
        except Exception as exc:  # every waiter learns the batch failed
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for _, future in batch:
            if not future.done():
                future.set_result(None)

    async def close(self) -> None:
        batch, self._pending = self._pending, []
        if batch:
            await self._commit(batch)
