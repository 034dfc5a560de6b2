"""Bulk import by upload (SPEC §7 ``registry import``, §12): CSV or XLSX, checked row by
row before anything is written, then imported with the user as the actor.

- ``GET /console/import``: the upload form (``flags:write``, the scope whose kinds the
  command line's import accepts).
- ``POST /console/import``: the file is kept server-side (``import_jobs``) and every row
  goes through the command line's own reader and row rules (``check_file``); the page is
  the per-row report, nothing is written. A report with errors answers 422.
- ``POST /console/import/{id}/run``: the user confirms; the import runs in the background
  through ``import_flags`` (the command line's service and writer: one all-or-nothing
  transaction, the rows found invalid left out by the user's choice).
- ``GET /console/import/{id}``: the report, the progress (reloaded every 2 s by the
  console's one small script, which the user can turn off; without JavaScript, a link
  reloads it), then the result.

The import machinery (openpyxl) is loaded on the first upload, not with the server.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from pathlib import Path as FilePath
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from app.auth.scopes import Scope
from app.config import Settings
from app.console.auth import ConsolePageNotFound, SignedIn, need
from app.console.import_jobs import ID_PATTERN, ImportJob, JobStatus, JobStore, default_root
from app.console.import_run import RUNNING, start_import
from app.console.pages import Lang, render
from app.console.routing import UploadRoute
from app.console.session import Staff, check_csrf
from app.db.types import utcnow
from app.errors import AppError, Conflict, InvalidInput, PayloadTooLarge, ServiceUnavailable
from app.text import Text

if TYPE_CHECKING:
    from app.imports.service import FileCheck

log = logging.getLogger(__name__)
router = APIRouter(prefix="/console", include_in_schema=False, route_class=UploadRoute)

UPLOAD_PATH = "/console/import"
FORM_OVERHEAD = 64 * 1024  # multipart boundaries, headers and the other fields
UNPACK_FACTOR = 10  # an XLSX may unpack to this many times the upload limit
CHUNK = 64 * 1024
JobId = Annotated[str, Path(min_length=43, max_length=43, pattern=ID_PATTERN)]
Refresh = Annotated[str | None, Query(max_length=3, pattern=r"^(on|off)$")]


# A failed or interrupted import wrote nothing, and may be started again.
RUNNABLE = (JobStatus.CHECKED, JobStatus.INTERRUPTED, JobStatus.FAILED)


class UnsupportedFile(AppError):
    status = 415
    type_slug = "unsupported-import-file"
    title = "Not a CSV or XLSX file"
    description = "The console imports flags from CSV (UTF-8) or XLSX files only."
    remedy = "Save the sheet as CSV UTF-8 or as an Excel workbook (.xlsx) and upload that."


class TooManyUploads(Conflict):
    title = "Too many uploads are waiting"


def backstop_limit(settings: Settings) -> int:
    """The request-body limit of the upload path in the middleware: well above the page's
    own limit, so that a file somewhat too large gets this page's 413, not a bare one."""
    return 4 * settings.console_import_max_bytes + FORM_OVERHEAD


def store_of(request: Request) -> JobStore:
    settings: Settings = request.app.state.runtime.settings
    return JobStore(settings.console_import_dir or default_root())


def _limits(settings: Settings) -> dict[str, int]:
    return {
        "max_mb": settings.console_import_max_bytes // 1_048_576,
        "max_bytes": settings.console_import_max_bytes,
        "max_rows": settings.console_import_max_rows,
    }


@router.get("/import")
async def import_form(request: Request, staff: SignedIn, lang: Lang = None) -> Response:
    """The upload form."""
    need(staff, Scope.FLAGS_WRITE)
    limits = _limits(request.app.state.runtime.settings)
    return render(request, "import.html", {"staff": staff, **limits}, lang=lang)


def _suffix(filename: str) -> str:
    suffix = FilePath(filename).suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise UnsupportedFile("the file must be a .csv or an .xlsx file")
    return suffix


def _display_name(filename: str | None) -> str:
    """The name as the user's computer called it, printable and short (shown, never used
    as a path)."""
    name = "".join(c for c in (filename or "") if c.isprintable() and c not in "/\\")
    return name[-200:] or "upload"


async def _save_upload(upload: UploadFile, path: FilePath, limit: int) -> None:
    """Copy the upload to ``path``; 413 beyond ``limit`` bytes."""
    size = 0
    with path.open("wb") as out:
        while chunk := await upload.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"the file is larger than {limit // 1_048_576} MB")
            out.write(chunk)
    if size == 0:
        raise InvalidInput("the file is empty")


async def _check(request: Request, staff: Staff, path: FilePath) -> FileCheck:
    from app.imports.service import check_file  # loads openpyxl: on first use only

    settings: Settings = request.app.state.runtime.settings
    return await asyncio.to_thread(
        check_file,
        path,
        staff.org,
        max_rows=settings.console_import_max_rows,
        max_unpacked_bytes=UNPACK_FACTOR * settings.console_import_max_bytes,
    )


@router.post("/import")
async def upload(
    request: Request,
    staff: SignedIn,
    file: Annotated[UploadFile, File()],
    csrf: Annotated[Text, Form(max_length=100)] = "",
) -> Response:
    """Keep the file and check every row; nothing is written to the registry."""
    need(staff, Scope.FLAGS_WRITE)
    check_csrf(staff, csrf)
    name = _display_name(file.filename)
    store = store_of(request)
    job = store.new(staff.user.id, staff.org.code, name, _suffix(name))
    if job is None:
        raise TooManyUploads("finish or wait out your other uploads (they expire in an hour)")
    try:
        path = store.upload_path(job)
        await _save_upload(file, path, request.app.state.runtime.settings.console_import_max_bytes)
        found = await _check(request, staff, path)
    except AppError:
        store.discard(job)
        raise
    job.rows, job.valid_rows = found.report.rows, found.valid_rows
    job.bad_rows = sorted(found.bad_rows)
    job.errors = [dataclasses.asdict(e) for e in found.report.errors]
    job.error_count = found.report.error_count
    store.save(job)
    return _job_page(request, staff, job, None, status_code=422 if job.error_count else 200)


def _own_job(request: Request, staff: Staff, job_id: str) -> ImportJob:
    """The user's job, or the same 404 for anyone else's, an expired or a missing one."""
    job = store_of(request).get(job_id, staff.user.id, RUNNING)
    if job is None or job.org_code != staff.org.code:
        raise ConsolePageNotFound("no such import")
    return job


def _job_page(
    request: Request,
    staff: Staff,
    job: ImportJob,
    lang: str | None,
    *,
    refresh: bool = True,
    status_code: int = 200,
) -> Response:
    reloading = refresh and job.status == JobStatus.RUNNING
    context = {
        "staff": staff,
        "job": job,
        "refresh": reloading,
        "may_run": job.status in RUNNABLE and job.valid_rows,
        "expires_in": max(0, int((job.expires_at - utcnow()).total_seconds() // 60)),
    }
    return render(
        request,
        "import_job.html",
        context,
        lang=lang,
        status_code=status_code,
        scripted=reloading,
    )


@router.get("/import/{job_id}")
async def import_page(
    request: Request, staff: SignedIn, job_id: JobId, refresh: Refresh = None, lang: Lang = None
) -> Response:
    """The report of a checked upload, the progress of its import, or how it ended."""
    need(staff, Scope.FLAGS_WRITE)
    job = _own_job(request, staff, job_id)
    return _job_page(request, staff, job, lang, refresh=refresh != "off")


@router.post("/import/{job_id}/run")
async def run_import(
    request: Request,
    staff: SignedIn,
    job_id: JobId,
    csrf: Annotated[Text, Form(max_length=100)] = "",
) -> Response:
    """Start the import of a checked upload (once; again after an interruption)."""
    need(staff, Scope.FLAGS_WRITE)
    check_csrf(staff, csrf)
    job = _own_job(request, staff, job_id)
    runtime = request.app.state.runtime
    if runtime.mirror.state_error is not None:
        raise ServiceUnavailable(runtime.mirror.state_error, retry_after=60)
    if job.status in RUNNABLE and job.valid_rows:
        start_import(runtime, store_of(request), job, staff.actor)
    return RedirectResponse(f"/console/import/{job.id}", status_code=303)
