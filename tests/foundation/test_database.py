"""Database settings and concurrent writers."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, text

from app.auth.actor import Actor
from app.config import Settings
from app.db.engine import create_database
from app.db.unit_of_work import unit_of_work
from app.models import ChangeEvent, RegistryHead
from app.organisations.service import create_organisation
from tests import databases


@pytest.mark.skipif(databases.ENGINE != "sqlite", reason="SQLite pragmas")
async def test_sqlite_connections_are_durable_and_strict(settings: Settings) -> None:
    db = create_database(settings)
    try:
        for maker in (db.read_session, db.write_session):
            async with maker() as session:
                values = [
                    (await session.execute(text(f"PRAGMA {name}"))).scalar_one()
                    for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
                ]
            assert values == ["wal", 2, 1, 30000]
    finally:
        await db.dispose()


async def test_twenty_concurrent_writers_from_two_engines_all_succeed(settings: Settings) -> None:
    """Two engines stand for two processes: 20 writers in all, none may fail or be lost."""
    engines = [create_database(settings), create_database(settings)]

    async def write(i: int) -> None:
        db = engines[i % 2]
        async with unit_of_work(db, Actor.command_line()) as uow:
            await create_organisation(
                uow,
                code=f"ORG{i:02d}",
                name=f"Org {i}",
                kind="police",
                institution=None,
            )

    try:
        await asyncio.gather(*(write(i) for i in range(20)))
        async with engines[0].read_session() as session:
            count = (
                await session.execute(select(func.count()).select_from(ChangeEvent))
            ).scalar_one()
            seqs = list(
                (await session.execute(select(ChangeEvent.seq).order_by(ChangeEvent.seq))).scalars()
            )
            head = (await session.execute(select(RegistryHead.seq))).scalar_one()
    finally:
        for db in engines:
            await db.dispose()
    assert count == 20
    assert seqs == list(range(1, 21))
    assert head == 20
