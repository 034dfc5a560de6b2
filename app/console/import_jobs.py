"""Uploads waiting for their import, and imports under way, kept on the server's disk.

Each upload is a directory ``<root>/<id>/`` holding the file as uploaded and ``job.json``
(what the check found, then how the import went), named by an unguessable id and bound to
the user who uploaded it: anyone else, and any id that does not exist or has expired, is
the same "no such import". A file on disk rather than a row: every worker of the host
sees it, and nothing in the registry's tables or its chain holds an upload nobody
confirmed. ``job.json`` is replaced atomically, so a reader never sees half of it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import secrets
import shutil
import stat
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from app.db.types import utcnow
from app.errors import ServiceUnavailable

ID_PATTERN = r"^[A-Za-z0-9_-]{43}$"
_ID = re.compile(ID_PATTERN)
TTL = timedelta(hours=1)  # after the upload, and after the import's last sign of life
STALE = timedelta(minutes=10)  # a running import silent this long has stopped
PER_USER = 5  # uploads a user may have waiting at once
BOOT = secrets.token_hex(8)  # this process, as opposed to an earlier one with its pid


class JobStatus(StrEnum):
    CHECKED = "checked"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


@dataclass
class ImportJob:
    """One upload: its check, then its import."""

    id: str
    user_id: str
    org_code: str
    filename: str
    suffix: str
    created_at: datetime
    expires_at: datetime
    status: JobStatus = JobStatus.CHECKED
    rows: int = 0
    valid_rows: int = 0
    bad_rows: list[int] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0
    done_rows: int = 0
    created: int = 0
    skipped: int = 0
    already_flagged: int = 0
    message: str | None = None
    owner_pid: int | None = None
    owner_boot: str | None = None
    heartbeat: datetime | None = None

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        for name in ("created_at", "expires_at", "heartbeat"):
            data[name] = data[name].isoformat() if data[name] is not None else None
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> ImportJob:
        data = json.loads(text)
        for name in ("created_at", "expires_at", "heartbeat"):
            if data[name] is not None:
                data[name] = datetime.fromisoformat(data[name])
        data["status"] = JobStatus(data["status"])
        return cls(**data)

    @property
    def finished(self) -> bool:
        return self.status in (JobStatus.DONE, JobStatus.FAILED)


class ImportDirectoryUnsafe(ServiceUnavailable):
    title = "The import directory is not private"


def default_root() -> Path:
    return Path(tempfile.gettempdir()) / f"registry-console-imports-{os.geteuid()}"


def _private(root: Path) -> None:
    """Create ``root`` owner-only, and refuse one that another user could read or plant
    files in (a directory in a shared /tmp may have been created by anyone)."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(root)
    if stat.S_ISLNK(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
        raise ImportDirectoryUnsafe(f"{root} must be a directory of this user, mode 0700")


class JobStore:
    """The uploads of one host, under ``root`` (created owner-only)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _dir(self, job_id: str) -> Path:
        return self.root / job_id

    def upload_path(self, job: ImportJob) -> Path:
        return self._dir(job.id) / f"upload{job.suffix}"

    def new(self, user_id: str, org_code: str, filename: str, suffix: str) -> ImportJob | None:
        """A new upload's job and directory; None when the user has too many waiting."""
        self.purge()
        if sum(1 for job in self._all() if job.user_id == user_id) >= PER_USER:
            return None
        _private(self.root)
        now = utcnow()
        job = ImportJob(
            secrets.token_urlsafe(32), user_id, org_code, filename, suffix, now, now + TTL
        )
        self._dir(job.id).mkdir(mode=0o700)
        return job

    def save(self, job: ImportJob) -> None:
        temporary = self._dir(job.id) / f"job.json.{os.getpid()}"
        temporary.write_text(job.to_json(), encoding="utf-8")
        os.replace(temporary, self._dir(job.id) / "job.json")

    def _load(self, job_id: str) -> ImportJob | None:
        try:
            return ImportJob.from_json((self._dir(job_id) / "job.json").read_text("utf-8"))
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def _all(self) -> list[ImportJob]:
        if not self.root.is_dir():
            return []
        jobs = (self._load(entry.name) for entry in self.root.iterdir() if _ID.match(entry.name))
        return [job for job in jobs if job is not None]

    def get(self, job_id: str, user_id: str, running: set[str]) -> ImportJob | None:
        """The user's job ``job_id``, None for anyone else's, a missing or an expired one.
        A running job whose process has gone is marked interrupted here."""
        if not _ID.match(job_id):
            return None
        job = self._load(job_id)
        if job is None or job.user_id != user_id or job.expires_at < utcnow():
            return None
        if job.status == JobStatus.RUNNING and not _alive(job, running):
            job.status = JobStatus.INTERRUPTED
            self.release(job)
            self.save(job)
        return job

    def claim(self, job: ImportJob) -> bool:
        """Take the right to run ``job``: True for exactly one caller until released."""
        try:
            os.close(os.open(self._dir(job.id) / "run.lock", os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            return False
        return True

    def release(self, job: ImportJob) -> None:
        (self._dir(job.id) / "run.lock").unlink(missing_ok=True)

    def discard(self, job: ImportJob) -> None:
        shutil.rmtree(self._dir(job.id), ignore_errors=True)

    def purge(self) -> None:
        """Remove expired uploads (a running import keeps extending its own expiry)."""
        now = utcnow()
        for job in self._all():
            if job.expires_at < now:
                self.discard(job)


def _alive(job: ImportJob, running: set[str]) -> bool:
    """Whether the process running ``job`` is still at it."""
    if job.owner_boot == BOOT:
        return job.id in running
    if job.owner_pid == os.getpid() or job.owner_pid is None:
        return False  # an earlier process of this pid: restarted since
    if job.heartbeat is None or utcnow() - job.heartbeat > STALE:
        return False
    try:
        os.kill(job.owner_pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
