"""Whether the configured database can serve a command: it exists, answers, is migrated.

Every command but ``migrate``, ``serve`` and ``demo`` (which migrate themselves) opens the
database through ``migrated_database``, so a missing file, an unreachable server or a schema
that is not at head is one line saying what to do, not a traceback from the first query,
and a mistyped SQLite path is never created as an empty database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import SQLAlchemyError

from app.config import Settings
from app.db.engine import Database, create_database, normalise_url
from app.db.files import sqlite_file

MIGRATE = "run `registry migrate` (with the same REGISTRY_DATABASE_URL) first"


class DatabaseNotReady(Exception):
    """The database a command needs is missing, unreachable or not migrated."""


def shown_url(url: str) -> str:
    """The URL as it may be printed: never its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except SQLAlchemyError:
        return "(an unparsable REGISTRY_DATABASE_URL)"


def _reason(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip().splitlines()
    return text[0] if text else type(cause).__name__


def existing_sqlite_file(url: str) -> Path | None:
    """The SQLite file of ``url`` if it exists (None for another database); refused when
    missing, before any connection could create it empty."""
    path = sqlite_file(url)
    if path is not None and not path.is_file():
        raise DatabaseNotReady(f"no registry database at {path}: {MIGRATE}")
    return path


def unreachable(url: str, exc: BaseException) -> DatabaseNotReady:
    """The error for a database that refused or never answered the connection."""
    return DatabaseNotReady(f"cannot reach {shown_url(url)}: {_reason(exc)}")


@asynccontextmanager
async def migrated_database(settings: Settings) -> AsyncIterator[Database]:
    """The configured database, checked before the command's first query."""
    url = normalise_url(settings.database_url)
    try:
        existing_sqlite_file(url)
        db = create_database(settings)
    except SQLAlchemyError as exc:  # not a URL, or a driver that is not installed
        raise DatabaseNotReady(f"REGISTRY_DATABASE_URL is unusable: {_reason(exc)}") from None
    try:
        await _require_head(db, url)
        yield db
    finally:
        await db.dispose()


async def _require_head(db: Database, url: str) -> None:
    from app.db.migrations import schema_head

    def current(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    try:
        async with db.read_engine.connect() as connection:
            revision = await connection.run_sync(current)
    except (OSError, SQLAlchemyError) as exc:
        raise unreachable(url, exc) from None
    head = schema_head()
    if revision is None:
        raise DatabaseNotReady(f"{shown_url(url)} holds no registry schema: {MIGRATE}")
    if revision != head:
        raise DatabaseNotReady(
            f"{shown_url(url)} is at schema {revision}, this version needs {head}: {MIGRATE}"
        )
