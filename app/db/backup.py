"""``registry backup FILE``: a consistent copy of the live registry (SPEC §7, issue 13).

A ``cp`` of a SQLite file that is being served misses whatever still sits in its ``-wal``
file (26 of 79 events in one try). SQLite's online backup API copies the database as one
read transaction sees it, WAL included, while the server keeps answering and writing (a
WAL reader never blocks the writer). The copy is written beside ``FILE`` (0600: it holds
every report and client-secret hash), checked, and renamed into place, so ``FILE`` is
either the whole backup or untouched.

PostgreSQL has its own tool for this, ``pg_dump``; the command prints the exact commands
for the configured database, without its password.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from app.db.engine import normalise_url
from app.db.ready import MIGRATE, DatabaseNotReady, existing_sqlite_file


class BackupRefused(Exception):
    """The target cannot be written as asked (exists without --force, is the live file)."""


@dataclass(frozen=True)
class BackupDone:
    file: str
    bytes: int
    head_seq: int
    seconds: float


@dataclass(frozen=True)
class PgCommands:
    backup: str
    restore: str


def backup_sqlite(database_url: str, target: Path, *, force: bool) -> BackupDone:
    """Copy the live SQLite database to ``target`` with the online backup API."""
    source = existing_sqlite_file(normalise_url(database_url))
    if source is None:
        raise BackupRefused("only a SQLite database file can be backed up this way")
    target = target.resolve()
    if target.exists() and target.samefile(source):
        raise BackupRefused(f"{target} is the live database itself")
    if target.exists() and not force:
        raise BackupRefused(f"{target} exists: pass --force to replace it")
    if not target.parent.is_dir():
        raise BackupRefused(f"no directory {target.parent}")
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    started = time.monotonic()
    try:
        os.close(os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        head_seq = _copy(source, partial)
        os.replace(partial, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return BackupDone(
        file=str(target),
        bytes=target.stat().st_size,
        head_seq=head_seq,
        seconds=round(time.monotonic() - started, 3),
    )


def _copy(source: Path, partial: Path) -> int:
    """Back up in one step (one snapshot: a stepwise copy restarts on every write), then
    check the copy and read its head."""
    live = sqlite3.connect(source, timeout=30)
    copy = sqlite3.connect(partial)
    try:
        live.backup(copy)  # pages=-1: the whole database from one read transaction
        if copy.execute("PRAGMA quick_check").fetchone() != ("ok",):
            raise BackupRefused("the copy failed SQLite's integrity check; nothing replaced")
        try:
            row = copy.execute("SELECT seq FROM registry_head").fetchone()
        except sqlite3.OperationalError:
            raise DatabaseNotReady(f"{source} holds no registry schema: {MIGRATE}") from None
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal
        return int(row[0]) if row else 0
    finally:
        copy.close()
        live.close()


def pg_commands(database_url: str, target: Path) -> PgCommands:
    """The ``pg_dump`` and ``pg_restore`` commands for the configured database, without
    its password (``PGPASSWORD`` or ``~/.pgpass`` supplies it)."""
    live = make_url(normalise_url(database_url))
    url = URL.create(  # rebuilt field by field: ``URL.set(password=None)`` keeps the password
        "postgresql",
        username=live.username,
        host=live.host,
        port=live.port,
        database=live.database,
        query=live.query,
    )
    dsn = url.render_as_string(hide_password=False)
    file = shlex.quote(str(target))
    return PgCommands(
        backup=f"pg_dump --format=custom --no-owner --file={file} {shlex.quote(dsn)}",
        # Into an empty database (createdb): never --clean over the one being served.
        restore=f"pg_restore --no-owner --single-transaction --dbname={shlex.quote(dsn)} {file}",
    )
