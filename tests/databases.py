"""Test databases built by the real Alembic migrations, one fresh database per test.

``REGISTRY_TEST_DATABASE`` picks the engine: ``sqlite`` (default) or ``postgresql``. SQLite
copies a migrated template file per test; PostgreSQL migrates one database per session and
truncates it between tests.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from pathlib import Path

import asyncpg

import app.models  # noqa: F401  (registers every table)
from app.db.base import Base
from app.db.migrations import upgrade_to_head
from app.models.registry_head import GENESIS_HASH

ENGINE = os.environ.get("REGISTRY_TEST_DATABASE", "sqlite")
PG_ADMIN_DSN = os.environ.get("REGISTRY_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
TABLES = tuple(table.name for table in Base.metadata.sorted_tables)


def pg_dsn(name: str) -> str:
    return PG_ADMIN_DSN.rsplit("/", 1)[0] + "/" + name


def pg_url(name: str) -> str:
    return pg_dsn(name).replace("postgresql://", "postgresql+asyncpg://", 1)


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def create_pg_database() -> str:
    name = f"registry_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    upgrade_to_head(pg_url(name))
    return name


def drop_pg_database(name: str) -> None:
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def reset_pg_database(name: str) -> None:
    conn = await asyncpg.connect(pg_dsn(name))
    try:
        await conn.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
        await conn.execute(
            "INSERT INTO registry_head (id, seq, hash) VALUES (1, 0, $1)", GENESIS_HASH
        )
    finally:
        await conn.close()


def sqlite_template(directory: Path) -> Path:
    path = directory / "template.db"
    upgrade_to_head(f"sqlite+aiosqlite:///{path}")
    return path


def sqlite_copy(template: Path, directory: Path) -> str:
    target = directory / "registry.db"
    shutil.copyfile(template, target)
    return f"sqlite+aiosqlite:///{target}"
