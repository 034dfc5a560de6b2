"""Running a confirmed console import in the background of the server process.

The import is the command line's ``import_flags``: one write transaction for the whole
file (all-or-nothing), batches of rows inside it, the change events naming the user. Its
progress is written to the job after each batch, with a heartbeat; a server that stops
mid-import (restart, crash) leaves the transaction uncommitted, so the database rolls it
back and nothing was written; the job then reads ``interrupted`` (its process is gone)
and the user may start it again: rows already imported would be skipped (fingerprints).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os

from app.auth.actor import Actor
from app.console.import_jobs import BOOT, TTL, ImportJob, JobStatus, JobStore
from app.db.types import utcnow
from app.errors import AppError
from app.runtime import Runtime

log = logging.getLogger(__name__)
# The ids of the imports this process runs, and their tasks (kept, so none is collected).
RUNNING: set[str] = set()
_TASKS: set[asyncio.Task[None]] = set()


def start_import(runtime: Runtime, store: JobStore, job: ImportJob, actor: Actor) -> bool:
    """Start ``job`` unless it is already being run; False if it was."""
    if not store.claim(job):
        return False
    job.status = JobStatus.RUNNING
    job.done_rows = 0
    job.message = None
    _beat(job)
    store.save(job)
    RUNNING.add(job.id)
    task = asyncio.create_task(_run(runtime, store, job, actor), name=f"console-import-{job.id}")
    _TASKS.add(task)
    task.add_done_callback(_TASKS.discard)
    return True


def _beat(job: ImportJob) -> None:
    job.owner_pid, job.owner_boot = os.getpid(), BOOT
    job.heartbeat = utcnow()
    job.expires_at = job.heartbeat + TTL


async def _run(runtime: Runtime, store: JobStore, job: ImportJob, actor: Actor) -> None:
    from app.imports.service import import_flags  # loads openpyxl: on first use only

    def progress(done: int) -> None:
        job.done_rows = done
        _beat(job)
        store.save(job)

    try:
        report = await import_flags(
            runtime.db,
            job.org_code,
            store.upload_path(job),
            ttl_days=runtime.settings.flag_ttl_days,
            actor=actor,
            progress=progress,
            leave_out=frozenset(job.bad_rows),
            mirror=runtime.mirror,
            tune_gc=False,
        )
    except asyncio.CancelledError:  # the server is stopping: the transaction rolled back
        job.status = JobStatus.INTERRUPTED
        raise
    except AppError as exc:
        job.status, job.message = JobStatus.FAILED, exc.detail
    except Exception:
        log.exception("console import %s failed", job.id)
        job.status, job.message = JobStatus.FAILED, "the import stopped on an internal error"
    else:
        job.created, job.skipped = report.created, report.skipped
        job.already_flagged = report.already_flagged
        if report.committed:
            job.status = JobStatus.DONE
            store.upload_path(job).unlink(missing_ok=True)  # written: no longer needed
        else:  # a row invalid now that was valid at the check (the rules changed)
            job.status = JobStatus.FAILED
            job.message = f"{report.error_count} row error(s): nothing was written"
            job.errors = [dataclasses.asdict(e) for e in report.errors]
            job.error_count = report.error_count
    finally:
        RUNNING.discard(job.id)
        _beat(job)
        store.release(job)
        store.save(job)
