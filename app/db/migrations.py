"""Running the Alembic migrations: the only way the schema is made, on either database."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from app.db.engine import normalise_url
from app.db.files import secure_sqlite_file

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent.parent / "migrations"


def alembic_config(database_url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if database_url is not None:
        config.attributes["database_url"] = normalise_url(database_url)
    return config


def schema_head() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade_to_head(database_url: str) -> None:
    """Bring the schema to head. Runs its own event loop: call it outside one."""
    secure_sqlite_file(normalise_url(database_url))  # Alembic's connection would create it
    command.upgrade(alembic_config(database_url), "head")
