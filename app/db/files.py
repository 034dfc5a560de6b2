"""The SQLite database file and its companions are mode 0600 (SPEC §8 "Files").

The file holds every report, dispute and client secret hash, so only its owner may read it.
SQLite creates a new database with 0644 less the umask, and gives its ``-wal``, ``-shm``
and ``-journal`` files the database file's own mode: creating the database file 0600
before SQLite opens it, and tightening one that exists, covers all of them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

COMPANIONS = ("-wal", "-shm", "-journal")


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for another database or an in-memory one."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    # In-memory databases have no file; "file:" URIs are left to whoever wrote them.
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)


def secure_sqlite_file(url: str) -> None:
    """Create the SQLite database file 0600 if missing; take group and other access away
    from it and its companions if present. A no-op for PostgreSQL."""
    path = sqlite_file(url)
    if path is None:
        return
    # O_EXCL: a file created a moment ago by another process is tightened below instead.
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    for candidate in (path, *(Path(f"{path}{suffix}") for suffix in COMPANIONS)):
        _tighten(candidate)


def _tighten(path: Path) -> None:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if not mode & 0o077:
        return
    try:
        # Owner bits are kept (never widened): a 0644 file becomes 0600, a 0444 one 0400.
        os.chmod(path, mode & 0o700)
    except PermissionError:  # not ours to change: say so rather than refuse to start
        log.warning("cannot restrict %s to its owner (mode %o); chmod 600 it", path, mode)
