"""Engines and session factories for SQLite (embedded) and PostgreSQL.

SQLite: WAL, ``synchronous=FULL``, foreign keys and a busy timeout on every connection.
Writers go through their own engine with a single pooled connection and ``BEGIN IMMEDIATE``:
in-process writers queue for that connection instead of racing for the file lock, and a
second process waits on the busy timeout, so "database is locked" does not reach callers.
Readers use a separate pool and never block writers (WAL).

PostgreSQL: one pool; write transactions serialise on the ``registry_head`` row (see
``app.audit.repository.lock_head``), which is also what keeps ``seq`` gap-free.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.config import Settings
from app.db.files import secure_sqlite_file

SQLITE_BUSY_TIMEOUT_MS = 30_000


def normalise_url(url: str) -> str:
    """Accept the plain driver names people paste and pick the async driver."""
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    return url


def _sqlite_engine(url: str, *, immediate: bool, pool_size: int) -> AsyncEngine:
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=60,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so BEGIN is ours to emit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@dataclass
class Database:
    """The engines of one process; ``write`` sessions serialise, ``read`` sessions do not."""

    url: str
    write_engine: AsyncEngine
    read_engine: AsyncEngine
    write_session: async_sessionmaker[AsyncSession]
    read_session: async_sessionmaker[AsyncSession]

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    async def dispose(self) -> None:
        await self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            await self.read_engine.dispose()


def create_database(settings: Settings) -> Database:
    url = normalise_url(settings.database_url)
    if url.startswith("sqlite"):
        secure_sqlite_file(url)  # before the first connection can create it 0644
        write = _sqlite_engine(url, immediate=True, pool_size=1)
        read = _sqlite_engine(url, immediate=False, pool_size=settings.db_pool_size)
    else:
        write = create_async_engine(
            url,
            pool_size=settings.db_pool_size,
            max_overflow=0,
            pool_timeout=settings.db_pool_timeout_seconds,
            pool_pre_ping=True,
        )
        read = write
    return Database(
        url=url,
        write_engine=write,
        read_engine=read,
        write_session=async_sessionmaker(write, expire_on_commit=False),
        read_session=async_sessionmaker(read, expire_on_commit=False),
    )
