"""Bulk import by upload: the per-row report before anything is written, the import
through the command line's service with the user as the actor, its progress page; and
the attacks: other users' imports, roles, CSRF, hostile and oversized files."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from app.config import Settings
from app.console import import_run
from app.models import ChangeEvent, Flag
from tests.console.support import browser, csrf_of, signed_in_person
from tests.factories import make_caller, make_org

HEADER = "kind,institution,identifier,category,description,amount_lost_vnd\n"
GOOD = [
    "phone,,0912 345 678,TASK_SCAM,called about a parcel,1500000",
    "bank_account,VCB,0011002345678,FAKE_SHOP,shop that never ships,",
    "phone,,0987654321,TASK_SCAM,,",
]
BAD = "phone,,12345,TASK_SCAM,,"  # row 3 of the file: not a Vietnamese mobile number
JOB = re.compile(r'action="/console/import/([A-Za-z0-9_-]{43})/run"')


@pytest.fixture
def settings(database_url: str, key_file: Path, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        jwt_key_file=key_file,
        gc_freeze_after_start=False,
        console_import_dir=tmp_path / "imports",
        console_import_max_rows=50,
    )


def csv_file(*rows: str, header: str = HEADER) -> bytes:
    return (header + "\n".join(rows) + "\n").encode()


async def upload(
    http: httpx.AsyncClient, content: bytes, name: str = "flags.csv", csrf: str | None = None
) -> httpx.Response:
    if csrf is None:
        csrf = csrf_of((await http.get("/console/import")).text)
    return await http.post(
        "/console/import", data={"csrf": csrf}, files={"file": (name, content, "text/csv")}
    )


def job_of(page: httpx.Response) -> str:
    found = JOB.search(page.text)
    assert found, page.text
    return found.group(1)


async def run(http: httpx.AsyncClient, job: str) -> httpx.Response:
    csrf = csrf_of((await http.get(f"/console/import/{job}")).text)
    return await http.post(f"/console/import/{job}/run", data={"csrf": csrf})


async def finished(http: httpx.AsyncClient, job: str) -> str:
    for _ in range(400):
        page = await http.get(f"/console/import/{job}")
        assert page.status_code == 200, page.text
        if 'id="import-status" class="running"' not in page.text:
            return page.text
        await asyncio.sleep(0.05)
    raise AssertionError("the import did not finish")


async def flag_count(app: FastAPI) -> int:
    async with app.state.runtime.db.read_session() as session:
        return int((await session.execute(select(func.count()).select_from(Flag))).scalar_one())


@pytest.fixture
async def analyst(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    await make_org(app, "C06", "police")
    async with browser(app) as http:
        await signed_in_person(app, http, "C06", "an.nguyen", "analyst")
        yield http


async def test_the_report_comes_first_then_the_import_names_the_user(
    app: FastAPI, client: httpx.AsyncClient, analyst: httpx.AsyncClient
) -> None:
    form = await analyst.get("/console/import")
    assert form.status_code == 200
    assert 'enctype="multipart/form-data"' in form.text and '<label for="file">' in form.text
    checked = await upload(analyst, csv_file(GOOD[0], BAD, GOOD[1], GOOD[2]))
    assert checked.status_code == 422  # the file has a bad row: the report says which
    assert "<td>3</td><td>identifier</td>" in checked.text
    assert 'id="import-valid">3<' in checked.text
    assert await flag_count(app) == 0  # nothing written by the check
    job = job_of(checked)
    started = await run(analyst, job)
    assert started.status_code == 303 and started.headers["location"] == f"/console/import/{job}"
    done = await finished(analyst, job)
    assert 'class="done"' in done and 'id="import-created">3<' in done
    assert '<meta http-equiv="refresh"' not in done
    assert await flag_count(app) == 3
    bank = await make_caller(app, client, "VCB", "bank", "VCB")
    answer = await client.post(
        "/v1/lookup", json={"kind": "phone", "identifier": "0912345678"}, headers=bank.headers
    )
    assert answer.json()["action"] == "hold"  # police flags start confirmed
    async with app.state.runtime.db.read_session() as session:
        clients = set((await session.execute(select(ChangeEvent.actor_client))).scalars())
    assert "user:an.nguyen" in clients
    # The same confirmation again does not import twice (the job is done).
    again = await analyst.post(f"/console/import/{job}/run", data={"csrf": csrf_of(done)})
    assert again.status_code == 303
    assert await flag_count(app) == 3


async def test_a_bank_officer_imports_reported_flags_from_xlsx(app: FastAPI) -> None:
    await make_org(app, "VCB", "bank", "VCB")
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["kind", "institution", "identifier", "category", "amount_lost_vnd"])
    sheet.append(["bank_account", "VCB", "0011002345678", "FAKE_SHOP", 8_000_000])
    sheet.append(["phone", None, "0912345678", "TASK_SCAM", None])
    buffer = io.BytesIO()
    book.save(buffer)
    async with browser(app) as http:
        await signed_in_person(app, http, "VCB", "lan.tran", "fraud_officer")
        checked = await upload(http, buffer.getvalue(), "flags.xlsx")
        assert checked.status_code == 200, checked.text
        job = job_of(checked)
        assert (await run(http, job)).status_code == 303
        assert 'id="import-created">2<' in await finished(http, job)
    async with app.state.runtime.db.read_session() as session:
        statuses = set((await session.execute(select(Flag.status))).scalars())
    assert statuses == {"reported"}


async def test_another_users_import_is_not_found(app: FastAPI, analyst: httpx.AsyncClient) -> None:
    job = job_of(await upload(analyst, csv_file(*GOOD)))
    await make_org(app, "C07", "police")
    for org, username in (("C06", "binh.pham"), ("C07", "chi.vo")):
        async with browser(app) as other:
            await signed_in_person(app, other, org, username, "analyst")
            assert (await other.get(f"/console/import/{job}")).status_code == 404
            csrf = csrf_of((await other.get("/console/import")).text)
            refused = await other.post(f"/console/import/{job}/run", data={"csrf": csrf})
            assert refused.status_code == 404
    missing = "A" * 43
    assert (await analyst.get(f"/console/import/{missing}")).status_code == 404
    assert (await analyst.get("/console/import/..%2F..%2Fetc")).status_code in (404, 422)
    assert await flag_count(app) == 0


async def test_roles_without_flags_write_do_not_see_the_import(app: FastAPI) -> None:
    await make_org(app, "AUD", "auditor")
    await make_org(app, "SBV", "regulator")
    for org, username, role in (("AUD", "minh.le", "auditor"), ("SBV", "hoa.do", "supervisor")):
        async with browser(app) as http:
            await signed_in_person(app, http, org, username, role)
            assert (await http.get("/console/import")).status_code == 404
            home = await http.get("/console/")
            assert "/console/import" not in home.text
            refused = await upload(http, csv_file(*GOOD), csrf="x" * 43)
            assert refused.status_code == 404


async def test_csrf_is_required_to_upload_and_to_run(
    app: FastAPI, analyst: httpx.AsyncClient, settings: Settings
) -> None:
    for csrf in ("", "wrong-token-" * 3):
        refused = await upload(analyst, csv_file(*GOOD), csrf=csrf)
        assert refused.status_code == 403
    assert settings.console_import_dir is not None
    assert not any(settings.console_import_dir.glob("*/job.json"))  # nothing kept
    job = job_of(await upload(analyst, csv_file(*GOOD)))
    for data in ({}, {"csrf": "wrong"}):
        assert (await analyst.post(f"/console/import/{job}/run", data=data)).status_code == 403
    assert await flag_count(app) == 0


def zip_bomb() -> bytes:
    """A small XLSX whose sheet unpacks to 60 MB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"<row/>" * 10_000_000)
    return buffer.getvalue()


def xlsx_with_nul_reference() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["kind", "institution", "identifier", "category"])
    sheet.append(["phone", None, "PLACEHOLDER", "TASK_SCAM"])
    source = io.BytesIO()
    book.save(source)
    out = io.BytesIO()
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(out, "w") as new:
        for item in old.infolist():
            data = old.read(item).replace(b"PLACEHOLDER", b"0912&#0;345678")
            new.writestr(item, data)
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "status", "text"),
    [
        ("flags.csv", os.urandom(4096), 422, "UTF-8"),
        ("flags.xlsx", os.urandom(4096), 422, "XLSX"),
        ("flags.xlsx", zip_bomb(), 422, "unpacks to more than"),
        ("flags.xlsx", xlsx_with_nul_reference(), 422, "XLSX"),
        ("flags.xlsx", zip_bomb()[:200], 422, "XLSX"),
        ("flags.csv", b"name,phone\nx,0912345678\n", 422, "bad header"),
        ("flags.csv", b"", 422, "empty"),
        ("flags.csv", b'kind,institution,identifier,category\n"phone', 422, "malformed CSV"),
        ("flags.csv", csv_file(*[GOOD[0]] * 51), 422, "more than 50 data rows"),
        ("flags.exe", csv_file(*GOOD), 415, "csv"),
        ("flags", csv_file(*GOOD), 415, "csv"),
    ],
)
async def test_malformed_files_are_a_clear_4xx_page(
    app: FastAPI, analyst: httpx.AsyncClient, name: str, content: bytes, status: int, text: str
) -> None:
    page = await upload(analyst, content, name)
    assert page.status_code == status, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert text in page.text
    assert await flag_count(app) == 0


async def test_nul_and_markup_in_cells_and_names_are_row_errors_escaped(
    analyst: httpx.AsyncClient,
) -> None:
    rows = [
        "phone,,0912345678,TASK_SCAM,called\x00,",
        "phone,,<script>alert(1)</script>,TASK_SCAM,,",
        "bank_account,<img src=x onerror=alert(1)>,0011002345678,FAKE_SHOP,,",
    ]
    page = await upload(analyst, csv_file(*rows), "<script>alert(1)</script>.csv")
    assert page.status_code == 422, page.text
    assert "<td>2</td><td>description</td>" in page.text
    assert "<script>" not in page.text and "<img" not in page.text
    assert "&lt;script&gt;" in page.text  # the file's name, shown escaped
    assert 'id="import-valid">0<' in page.text and "/run" not in page.text


async def test_sizes_over_the_limit_are_refused_with_a_page(
    app: FastAPI, analyst: httpx.AsyncClient, settings: Settings
) -> None:
    limit = settings.console_import_max_bytes
    csrf = csrf_of((await analyst.get("/console/import")).text)
    just_over = HEADER.encode() + b"x" * (limit + 1 - len(HEADER))
    page = await upload(analyst, just_over, csrf=csrf)
    assert page.status_code == 413 and page.headers["content-type"].startswith("text/html")
    ten_mb_over = b"x" * (limit + 10 * 1_048_576)
    page = await upload(analyst, ten_mb_over, csrf=csrf)
    assert page.status_code == 413 and page.headers["content-type"].startswith("text/html")
    far_over = b"x" * (5 * limit)  # past the middleware's backstop: its own 413
    assert (await upload(analyst, far_over, csrf=csrf)).status_code == 413
    assert settings.console_import_dir is not None
    assert not any(settings.console_import_dir.glob("*/job.json"))


async def test_progress_refreshes_itself_until_the_end(
    app: FastAPI, analyst: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.imports.service as service

    gate = asyncio.Event()
    real = service.import_flags

    async def slow(*args: Any, **kwargs: Any) -> Any:
        kwargs["progress"](1)
        await gate.wait()
        return await real(*args, **kwargs)

    monkeypatch.setattr(service, "import_flags", slow)
    job = job_of(await upload(analyst, csv_file(*GOOD)))
    await run(analyst, job)
    running = await analyst.get(f"/console/import/{job}")
    assert '<script src="/console/static/refresh.js" defer></script>' in running.text
    assert 'id="auto-refresh" data-seconds="2"' in running.text
    assert "script-src 'self'" in running.headers["content-security-policy"]
    assert 'id="import-done">1<' in running.text and "?refresh=off" in running.text
    still = await analyst.get(f"/console/import/{job}?refresh=off")
    assert "refresh.js" not in still.text and 'class="running"' in still.text
    assert "script-src" not in still.headers["content-security-policy"]
    # A second confirmation while it runs starts nothing more.
    await analyst.post(f"/console/import/{job}/run", data={"csrf": csrf_of(running.text)})
    assert len(import_run.RUNNING) == 1
    gate.set()
    assert 'id="import-created">3<' in await finished(analyst, job)
    assert await flag_count(app) == 3


async def test_an_import_whose_server_stopped_reads_interrupted_and_can_run_again(
    app: FastAPI, analyst: httpx.AsyncClient, settings: Settings
) -> None:
    job = job_of(await upload(analyst, csv_file(*GOOD)))
    assert settings.console_import_dir is not None
    state = settings.console_import_dir / job / "job.json"
    data = json.loads(state.read_text())
    # As an earlier process with this pid left it: running, with a lock, then restarted.
    data.update(status="running", owner_pid=os.getpid(), owner_boot="earlier", done_rows=2)
    state.write_text(json.dumps(data))
    (state.parent / "run.lock").touch()
    page = await analyst.get(f"/console/import/{job}")
    assert 'class="interrupted"' in page.text and "/run" in page.text
    assert (await run(analyst, job)).status_code == 303
    assert 'id="import-created">3<' in await finished(analyst, job)


async def test_an_expired_upload_is_gone(analyst: httpx.AsyncClient, settings: Settings) -> None:
    job = job_of(await upload(analyst, csv_file(*GOOD)))
    assert settings.console_import_dir is not None
    state = settings.console_import_dir / job / "job.json"
    data = json.loads(state.read_text())
    data["expires_at"] = "2020-01-01T00:00:00+00:00"
    state.write_text(json.dumps(data))
    assert (await analyst.get(f"/console/import/{job}")).status_code == 404
    await upload(analyst, csv_file(*GOOD))  # a new upload sweeps the expired one away
    assert not (settings.console_import_dir / job).exists()


async def test_a_user_may_keep_only_a_few_uploads_waiting(analyst: httpx.AsyncClient) -> None:
    for _ in range(5):
        assert (await upload(analyst, csv_file(*GOOD))).status_code == 200
    refused = await upload(analyst, csv_file(*GOOD))
    assert refused.status_code == 409 and "text/html" in refused.headers["content-type"]


async def test_the_form_without_a_file_is_a_422_page(analyst: httpx.AsyncClient) -> None:
    csrf = csrf_of((await analyst.get("/console/import")).text)
    page = await analyst.post("/console/import", data={"csrf": csrf})
    assert page.status_code == 422 and "text/html" in page.headers["content-type"]
    page = await analyst.post(
        "/console/import", data={"csrf": csrf + "\x00"}, files={"file": ("a.csv", b"x")}
    )
    assert page.status_code == 422


async def test_an_import_directory_others_could_read_is_refused(
    app: FastAPI, analyst: httpx.AsyncClient, settings: Settings
) -> None:
    assert settings.console_import_dir is not None
    settings.console_import_dir.mkdir(mode=0o777)
    settings.console_import_dir.chmod(0o777)
    page = await upload(analyst, csv_file(*GOOD))
    assert page.status_code == 503 and "text/html" in page.headers["content-type"]
    assert not any(settings.console_import_dir.iterdir())


async def test_an_import_that_fails_wrote_nothing_and_can_run_again(
    app: FastAPI, analyst: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.imports.service as service

    real = service.import_flags

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(service, "import_flags", broken)
    job = job_of(await upload(analyst, csv_file(*GOOD)))
    await run(analyst, job)
    failed = await finished(analyst, job)
    assert 'class="failed"' in failed and "internal error" in failed
    assert "the database went away" not in failed  # no internals on the page
    assert await flag_count(app) == 0
    monkeypatch.setattr(service, "import_flags", real)
    assert (await run(analyst, job)).status_code == 303
    assert 'id="import-created">3<' in await finished(analyst, job)
