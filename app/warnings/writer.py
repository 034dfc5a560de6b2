"""Group commit for warnings: many lookups' warnings share one transaction.

Each warn/hold lookup waits until its warning is committed (so a ``warning_id`` handed out
always exists), but concurrent lookups are written together: one commit and one fsync per
batch instead of one per lookup.

On PostgreSQL a batch is one statement in autocommit mode (``INSERT ... SELECT FROM
unnest(arrays)``), so it costs one round trip instead of BEGIN, INSERT and COMMIT. That
matters for latency more than for load: under a saturated event loop each round trip
waits a full turn of the loop (several ms), and the warned caller waits for all of them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

from sqlalchemy import Table, insert, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.db.engine import Database
from app.db.unit_of_work import unchained_write
from app.metrics.metrics import WARNING_BATCH
from app.models import Warning

Row = dict[str, Any]
# The table, not the entity: an ORM-enabled insert adds per-row bookkeeping.
_WARNINGS = cast(Table, Warning.__table__)

log = logging.getLogger(__name__)

_COLUMNS = (
    "id",
    "organisation_id",
    "subject_key",
    "risk_level",
    "action",
    "registry_version",
    "created_at",
)
# A single statement is atomic without an explicit transaction. Ids are fresh UUIDs, so a
# conflict can only be a batch that committed before its connection failed.
_PG_INSERT = text(
    "INSERT INTO warning"
    " (id, organisation_id, subject_key, risk_level, action, registry_version, created_at)"
    " SELECT * FROM unnest(CAST(:id AS varchar[]), CAST(:organisation_id AS integer[]),"
    " CAST(:subject_key AS varchar[]), CAST(:risk_level AS integer[]),"
    " CAST(:action AS varchar[]), CAST(:registry_version AS bigint[]),"
    " CAST(:created_at AS timestamptz[]))"
    " ON CONFLICT (id) DO NOTHING"
)


class WarningWriter:
    """Batches warnings from concurrent lookups; several batches may commit at once."""

    def __init__(self, db: Database, *, in_flight: int = 4) -> None:
        self.db = db
        self._pending: list[tuple[list[Row], asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        # SQLite has one writer connection: batches queue there anyway.
        self._in_flight = 1 if db.is_sqlite else in_flight
        self._slots = asyncio.Semaphore(self._in_flight)
        self._tasks: set[asyncio.Task[None]] = set()
        self._engine: AsyncEngine | None = None

    @property
    def queued(self) -> int:
        """Warnings waiting for a batch to take them (not those being committed)."""
        return sum(len(rows) for rows, _ in self._pending)

    @property
    def engine(self) -> AsyncEngine | None:
        """Its own engine (PostgreSQL), once the first batch has made it."""
        return self._engine

    async def write(self, rows: list[Row]) -> None:
        """Return once ``rows`` are committed; raise what the commit raised."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((rows, future))
        self._wake.set()
        await future

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            await self._slots.acquire()
            self._wake.clear()
            batch, self._pending = self._pending, []
            if not batch:
                self._slots.release()
                continue
            task = asyncio.create_task(self._write_batch(batch))
            self._tasks.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()

    async def _write_batch(self, batch: list[tuple[list[Row], asyncio.Future[None]]]) -> None:
        flat = [row for rows, _ in batch for row in rows]
        WARNING_BATCH.observe(len(flat))  # once per batch: nothing next to its commit
        try:
            await self._insert(flat)
        except Exception as exc:  # every waiter learns the batch failed
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for _, future in batch:
            if not future.done():
                future.set_result(None)

    async def _insert(self, rows: list[Row]) -> None:
        if self.db.is_sqlite:
            async with unchained_write(self.db) as session:
                # Core executemany: no ORM object or unit-of-work bookkeeping per warning.
                await session.execute(insert(_WARNINGS), rows)
            return
        params = {name: [row[name] for row in rows] for name in _COLUMNS}
        try:
            await self._execute(params)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            # A connection lost since its last use (the pool does not ping these, to save
            # the round trip): once more on a new one. ON CONFLICT makes a repeat harmless.
            await self._execute(params)

    async def _execute(self, params: dict[str, list[Any]]) -> None:
        if self._engine is None:
            # Its own few connections, in autocommit and not pinged before use.
            self._engine = create_async_engine(
                self.db.url,
                pool_size=self._in_flight,
                max_overflow=0,
                isolation_level="AUTOCOMMIT",
                # A database that stops answering must not hold a batch slot forever.
                connect_args={"timeout": 5.0, "command_timeout": 5.0},
            )
        async with self._engine.connect() as connection:
            await connection.execute(_PG_INSERT, params)

    async def close(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        batch, self._pending = self._pending, []
        if batch:
            await self._write_batch(batch)
        if self._engine is not None:
            await self._engine.dispose()
