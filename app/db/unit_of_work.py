"""The one way anything is written: a unit of work.

A chained write (``unit_of_work``) takes the registry's write lock first (the single
``registry_head`` row), so every read it makes sees all earlier commits and no other writer
interleaves; services then add rows and describe their changes (``uow.record(Change)``),
each of which becomes the next event of the hash chain; leaving the block commits, and
only then refreshes this process's mirror, so a failed commit is an exception in the
caller (never a 2xx) and the caller's next lookup on this process already sees the change.
Services and repositories never commit: ``commit(`` appears in this module only (a test
holds the code base to that).

Rows that are not part of the chain and must not wait for its lock (warnings written
behind lookups, lookup counts) use ``unchained_write``: a transaction of their own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.repository import BulkEventWriter, EventWriter
from app.audit.vocabulary import Change
from app.auth.actor import Actor
from app.db.engine import Database


class Refreshable(Protocol):
    async def refresh(self) -> None: ...


@dataclass
class UnitOfWork:
    """One write transaction holding the write lock: its session, actor, time and chain."""

    session: AsyncSession
    events: EventWriter

    @property
    def actor(self) -> Actor:
        return self.events.actor

    @property
    def now(self) -> datetime:
        """The time of every event this unit writes."""
        return self.events.now

    async def record(self, change: Change) -> None:
        """Append ``change`` to the chain, in this transaction."""
        await self.events.append(change)

    def bulk(self, actor: Actor | None = None) -> BulkEventWriter:
        """A writer that chains many events for one bulk INSERT (the import), on this
        unit's locked head; ``actor`` may name who the events are by."""
        return BulkEventWriter(self.session, self.events.head, actor or self.actor)

    async def rollback(self) -> None:
        """Discard everything written so far; leaving the block then commits nothing."""
        await self.session.rollback()
        self.events.appended.clear()


@asynccontextmanager
async def unit_of_work(
    db: Database, actor: Actor, *, mirror: Refreshable | None = None
) -> AsyncIterator[UnitOfWork]:
    """Lock, write, chain, commit, refresh: the only way a chained change is made."""
    async with db.write_session() as session:
        uow = UnitOfWork(session, await EventWriter.begin(session, actor))
        try:
            yield uow
        except BaseException:
            await session.rollback()
            raise
        await session.commit()
    if mirror is not None:
        await mirror.refresh()


@asynccontextmanager
async def unchained_write(db: Database) -> AsyncIterator[AsyncSession]:
    """A transaction for rows outside the chain; committed on leaving the block."""
    async with db.write_session() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()
