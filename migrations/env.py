"""Alembic environment: async engines for SQLite (aiosqlite) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine

import app.models  # noqa: F401  (registers every table on the metadata)
from app.config import get_settings
from app.db.base import Base
from app.db.engine import normalise_url
from app.db.ready import unreachable

target_metadata = Base.metadata


def _url() -> str:
    url = context.config.attributes.get("database_url")
    return normalise_url(url or get_settings().database_url)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    url = _url()
    engine = create_async_engine(url)
    try:
        try:
            connection = await engine.connect()
        except (OSError, SQLAlchemyError) as exc:  # one line for `registry migrate`, no trace
            raise unreachable(url, exc) from None
        try:
            await connection.run_sync(_run)
            await connection.commit()
        finally:
            await connection.close()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())
