"""SPEC §8 "Files": a SQLite database and every key file the product creates are 0600.

Every test runs under umask 0, so a mode can only come from the product, never from a
restrictive environment. They make SQLite files of their own, so they hold whichever
database the suite runs on.
"""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from app.auth.keys import SigningKeys
from app.cli import cli
from app.config import Settings, get_settings
from app.db.engine import create_database
from app.db.files import sqlite_file
from app.db.migrations import upgrade_to_head
from app.demo import prepare_demo


@pytest.fixture(autouse=True)
def open_umask() -> Iterator[None]:
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def write_through_wal(path: Path, tmp_path: Path) -> None:
    """Open the database as the server does and write, so SQLite makes -wal and -shm."""
    db = create_database(Settings(database_url=url(path), jwt_key_file=tmp_path / "k.pem"))
    try:
        async with db.write_session() as session:
            await session.execute(text("CREATE TABLE IF NOT EXISTS probe (x INTEGER)"))
            await session.execute(text("INSERT INTO probe VALUES (1)"))
            await session.commit()
            # Both companions exist while a connection is open (WAL mode).
            for suffix in ("-wal", "-shm"):
                companion = Path(f"{path}{suffix}")
                assert companion.exists(), suffix
                assert mode(companion) == 0o600, (suffix, oct(mode(companion)))
    finally:
        await db.dispose()


def test_migrate_creates_the_database_0600_and_sqlite_copies_it_to_wal_and_shm(
    tmp_path: Path,
) -> None:
    path = tmp_path / "registry.db"
    upgrade_to_head(url(path))
    assert mode(path) == 0o600
    asyncio.run(write_through_wal(path, tmp_path))
    assert mode(path) == 0o600


def test_a_database_first_opened_by_the_server_is_0600(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"  # `registry serve --no-migrate` on a new file
    asyncio.run(write_through_wal(path, tmp_path))
    assert mode(path) == 0o600


def test_an_existing_database_and_its_companions_are_tightened(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    upgrade_to_head(url(path))
    files = [path, *(Path(f"{path}{suffix}") for suffix in ("-wal", "-shm", "-journal"))]
    for file in files[1:]:
        file.write_bytes(b"left over")  # not empty: SQLite itself only re-modes empty ones
    for file in files:
        file.chmod(0o664)
    # Creating the engines tightens the files before any connection is made.
    db = create_database(Settings(database_url=url(path), jwt_key_file=tmp_path / "k.pem"))
    asyncio.run(db.dispose())
    assert [mode(file) for file in files] == [0o600] * 4
    path.chmod(0o644)
    upgrade_to_head(url(path))  # `registry migrate` on an existing file
    assert mode(path) == 0o600
    path.chmod(0o444)  # owner bits are never widened
    db = create_database(Settings(database_url=url(path), jwt_key_file=tmp_path / "k.pem"))
    asyncio.run(db.dispose())
    assert mode(path) == 0o400


def test_registry_migrate_makes_the_file_0600(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("REGISTRY_DATABASE_URL", f"sqlite:///{path}")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["migrate", "--json"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert mode(path) == 0o600


def test_the_demo_database_is_0600(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGISTRY_JWT_KEY_FILE", str(tmp_path / "demo-key.pem"))
    monkeypatch.setenv("REGISTRY_CHECKPOINT_KEY_FILE", str(tmp_path / "demo-checkpoint.pem"))
    monkeypatch.setenv("REGISTRY_DATABASE_URL", url(tmp_path / "unused.db"))
    get_settings.cache_clear()
    try:
        prepare_demo(str(tmp_path / "demo.db"), host="127.0.0.1", port=8000)
    finally:
        get_settings.cache_clear()
    assert mode(tmp_path / "demo.db") == 0o600
    assert mode(tmp_path / "demo-key.pem") == 0o600


def test_other_databases_have_no_file() -> None:
    assert sqlite_file("postgresql+asyncpg://u@h/db") is None
    assert sqlite_file("sqlite+aiosqlite:///:memory:") is None
    assert sqlite_file("sqlite+aiosqlite://") is None
    assert sqlite_file("sqlite+aiosqlite:///./registry.db") == Path("./registry.db")


def test_every_key_file_is_0600(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key_file = tmp_path / "keys" / "jwt.pem"
    old = SigningKeys.load_or_create(key_file)
    SigningKeys.rotate(key_file)
    retired = key_file.with_name(f"jwt.pem.previous-{old.kid}.pem")
    assert (mode(key_file), mode(retired)) == (0o600, 0o600)
    # The checkpoint key, as `registry audit checkpoint` creates it.
    database = tmp_path / "audit.db"
    upgrade_to_head(url(database))
    checkpoint_key = tmp_path / "checkpoint" / "key.pem"
    monkeypatch.setenv("REGISTRY_DATABASE_URL", url(database))
    monkeypatch.setenv("REGISTRY_CHECKPOINT_KEY_FILE", str(checkpoint_key))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["audit", "checkpoint", "--json"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert mode(checkpoint_key) == 0o600
