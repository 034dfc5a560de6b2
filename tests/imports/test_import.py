"""``registry import``: bulk flags from CSV/XLSX, all-or-nothing, idempotent, chained."""

from __future__ import annotations

import csv
import re
import unicodedata
import zipfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from app.audit.verify import verify_chain
from app.auth.actor import Actor
from app.db.base import Base
from app.db.unit_of_work import unit_of_work
from app.flags.schemas import FlagCreate
from app.flags.service import create_flag, flag_read
from app.imports import service
from app.imports.reader import ImportFileError, count_data_rows
from app.imports.rows import fingerprint
from app.imports.service import ImportReport, RowError, import_flags
from app.models import ChangeEvent, Flag, Organisation, RegistryHead, Subject
from app.organisations.service import OrganisationNotFound, deactivate_organisation
from app.subjects.answer import lookup_answer
from app.subjects.schemas import SubjectIn
from app.sync.mirror import RegistryMirror
from tests.factories import make_org

HEADER = [
    "kind",
    "institution",
    "identifier",
    "category",
    "description",
    "amount_lost_vnd",
    "case_reference",
    "holder_name",
]
ACCOUNT = ["bank_account", "VCB", "0011 0023-45678", "IMPERSONATE_AUTHORITY", "called", "15000000"]
ACCOUNT_KEY = "bank_account:970436:0011002345678"
PHONE = ["phone", "", "0912 345 678", "TASK_SCAM"]
PHONE_KEY = "phone::+84912345678"
WALLET = ["ewallet", "momo", "0987654321", "FAKE_SHOP", "fake shop", "0", "", "Trần Thị Bé"]
WALLET_KEY = "ewallet:MOMO:+84987654321"
ROWS = [ACCOUNT, PHONE, WALLET]


def answer(mirror: RegistryMirror, key: str) -> dict[str, Any]:
    """What a lookup of ``key`` answers from this process's index."""
    return lookup_answer(key, mirror.listing(key), mirror.seq)


def write_csv(
    path: Path, rows: list[list[str]], header: list[str] = HEADER, encoding: str = "utf-8"
) -> Path:
    with path.open("w", encoding=encoding, newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def phone_rows(count: int, start: int = 100_000) -> list[list[str]]:
    """``count`` distinct valid phone subjects."""
    return [["phone", "", f"0912{start + i:06d}", "TASK_SCAM"] for i in range(count)]


async def run_import(
    app: FastAPI, org: str, path: Path, progress: Callable[[int], None] | None = None
) -> ImportReport:
    report = await import_flags(app.state.runtime.db, org, path, ttl_days=90, progress=progress)
    await app.state.runtime.mirror.refresh()
    return report


async def totals(app: FastAPI) -> dict[str, int]:
    """Rows per table and the registry head, to prove that nothing (else) was written."""
    async with app.state.runtime.db.read_session() as session:

        async def count(model: type[Base]) -> int:
            return int((await session.execute(select(func.count()).select_from(model))).scalar())

        head = (await session.execute(select(RegistryHead.seq))).scalar_one()
        return {
            "flags": await count(Flag),
            "subjects": await count(Subject),
            "events": await count(ChangeEvent),
            "head": head,
        }


async def events_of(app: FastAPI, entity_type: str) -> list[ChangeEvent]:
    async with app.state.runtime.db.read_session() as session:
        stmt = select(ChangeEvent).where(ChangeEvent.entity_type == entity_type)
        return list((await session.execute(stmt.order_by(ChangeEvent.seq))).scalars())


async def test_csv_import_creates_flags_events_and_changes_lookups(
    app: FastAPI, tmp_path: Path
) -> None:
    await make_org(app, "VCB", "bank", "970436")
    mirror = app.state.runtime.mirror
    assert not answer(mirror, ACCOUNT_KEY)["listed"]
    # A row of empty cells (a spreadsheet's leftovers) is not a row to import.
    path = write_csv(tmp_path / "flags.csv", [ACCOUNT, ["", " ", "", ""], PHONE, WALLET])

    report = await run_import(app, "VCB", path)

    assert report == ImportReport(created=3, skipped=0, rows=3, committed=True)
    for key, category in ((ACCOUNT_KEY, "IMPERSONATE_AUTHORITY"), (PHONE_KEY, "TASK_SCAM")):
        result = answer(mirror, key)
        assert (result["listed"], result["risk_level"], result["action"]) == (True, 1, "warn")
        assert result["categories"] == [category]
    assert answer(mirror, WALLET_KEY)["categories"] == ["FAKE_SHOP"]
    async with app.state.runtime.db.read_session() as session:
        stmt = (
            select(Flag, Subject, Organisation)
            .join(Subject, Subject.id == Flag.subject_id)
            .join(Organisation, Organisation.id == Flag.organisation_id)
        )
        rows = {s.key: (f, s, o) for f, s, o in (await session.execute(stmt)).all()}
    flag, _, _ = rows[WALLET_KEY]
    assert (flag.status, flag.holder_name, flag.amount_lost_vnd) == ("reported", "TRAN THI BE", 0)
    assert flag.expires_at == flag.created_at + timedelta(days=90)
    assert rows[PHONE_KEY][0].description == "" and rows[PHONE_KEY][0].amount_lost_vnd is None
    flag_events = {e.entity_id: e for e in await events_of(app, "flag")}
    assert flag_events.keys() == {f.id for f, _, _ in rows.values()}
    for row in rows.values():
        event = flag_events[row[0].id]
        assert event.state == flag_read(*row).model_dump(mode="json")
        assert (event.action, event.entity_version, event.subject_key) == (
            "reported",
            1,
            row[1].key,
        )
        assert (event.actor_org, event.actor_client, event.token_jti, event.request_id) == (
            "VCB",
            "cli:import",
            None,
            "import:flags.csv",
        )
    subject_events = await events_of(app, "subject")
    assert sorted(e.subject_key or "" for e in subject_events) == sorted(rows)


async def test_xlsx_import_reads_first_sheet_numbers_and_loose_header(
    app: FastAPI, tmp_path: Path
) -> None:
    await make_org(app, "VCB", "bank", "970436")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([" Kind ", "INSTITUTION", "Identifier", "category", "Amount_Lost_VND"])
    sheet.append(["bank_account", "VCB", "0011 0023-45678", "IMPERSONATE_AUTHORITY", 1500000.0])
    sheet.append([None, None, None, None, None])  # a blank row is ignored
    sheet.append(["phone", None, 912345678, "TASK_SCAM", 2500])
    book.create_sheet("ignored").append(["not", "a", "header"])
    book.save(tmp_path / "flags.xlsx")

    report = await run_import(app, "VCB", tmp_path / "flags.xlsx")

    assert report == ImportReport(created=2, skipped=0, rows=2, committed=True)
    async with app.state.runtime.db.read_session() as session:
        stmt = select(Subject.key, Flag.amount_lost_vnd).join(Flag, Flag.subject_id == Subject.id)
        stored = {key: amount for key, amount in (await session.execute(stmt)).all()}
    assert stored == {ACCOUNT_KEY: 1_500_000, PHONE_KEY: 2500}
    assert answer(app.state.runtime.mirror, PHONE_KEY)["risk_level"] == 1


async def test_xlsx_error_rows_are_numbered_as_in_the_sheet(app: FastAPI, tmp_path: Path) -> None:
    await make_org(app, "VCB", "bank", "970436")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER[:4])
    sheet.append(PHONE)
    sheet.append([])
    sheet.append([])
    sheet.append(["phone", None, "12", "TASK_SCAM"])
    book.save(tmp_path / "flags.xlsx")

    report = await run_import(app, "VCB", tmp_path / "flags.xlsx")

    assert [(e.row, e.field) for e in report.errors] == [(5, "identifier")]


async def test_xlsx_with_a_stale_dimension_is_read_to_the_end(app: FastAPI, tmp_path: Path) -> None:
    await make_org(app, "VCB", "bank", "970436")
    book = openpyxl.Workbook()
    for row in [HEADER[:4], *phone_rows(3)]:
        book.active.append(row)
    book.save(tmp_path / "fresh.xlsx")
    # Some producers write a dimension that does not cover every row.
    with (
        zipfile.ZipFile(tmp_path / "fresh.xlsx") as source,
        zipfile.ZipFile(tmp_path / "stale.xlsx", "w") as target,
    ):
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                assert b'<dimension ref="A1:D4" />' in content
                content = content.replace(b'ref="A1:D4"', b'ref="A1:D2"')
            target.writestr(item, content)

    report = await run_import(app, "VCB", tmp_path / "stale.xlsx")

    assert (report.rows, report.created) == (3, 3)


async def test_rerun_is_idempotent_and_only_new_rows_are_flagged(
    app: FastAPI, tmp_path: Path
) -> None:
    await make_org(app, "VCB", "bank", "970436")
    path = write_csv(tmp_path / "flags.csv", ROWS)
    assert (await run_import(app, "VCB", path)).created == 3
    before = await totals(app)

    again = await run_import(app, "VCB", path)

    assert again == ImportReport(created=0, skipped=3, rows=3, committed=True)
    assert await totals(app) == before
    # A changed row about a subject VCB already flags is not a second flag (SPEC §8).
    changed = [*ROWS[:2], [*WALLET[:4], "another description", *WALLET[5:]]]
    third = await run_import(app, "VCB", write_csv(tmp_path / "changed.csv", changed))
    assert (third.created, third.skipped, third.already_flagged) == (0, 3, 1)
    assert (await totals(app))["flags"] == 3


async def test_same_file_for_another_organisation_is_not_skipped(
    app: FastAPI, tmp_path: Path
) -> None:
    await make_org(app, "VCB", "bank", "970436")
    await make_org(app, "VTL", "telecom")
    path = write_csv(tmp_path / "flags.csv", [PHONE])
    await run_import(app, "VCB", path)

    report = await run_import(app, "VTL", path)

    assert (report.created, report.skipped) == (1, 0)
    assert answer(app.state.runtime.mirror, PHONE_KEY)["risk_level"] == 2  # two reporters
    async with app.state.runtime.db.read_session() as session:
        stmt = select(Organisation.code, Flag.import_fingerprint).join(
            Flag, Flag.organisation_id == Organisation.id
        )
        prints = {code: digest for code, digest in (await session.execute(stmt)).all()}
    data = FlagCreate(
        subject=SubjectIn(kind="phone", identifier="0912345678"), category="TASK_SCAM"
    )
    assert prints == {code: fingerprint(code, PHONE_KEY, data, None) for code in ("VCB", "VTL")}
    assert prints["VCB"] != prints["VTL"]


async def test_import_adds_to_a_subject_flagged_through_the_api(
    app: FastAPI, tmp_path: Path
) -> None:
    await make_org(app, "VCB", "bank", "970436")
    await make_org(app, "C06", "police")
    async with app.state.runtime.db.read_session() as session:
        stmt = select(Organisation.id).where(Organisation.code == "C06")
        org_id = (await session.execute(stmt)).scalar_one()
    actor = Actor(org_id, "C06", "police", None, "a", None, "r")
    async with unit_of_work(app.state.runtime.db, actor) as uow:
        subject = SubjectIn(kind="phone", identifier="+84912345678")
        await create_flag(uow, FlagCreate(subject=subject, category="ROMANCE"), ttl_days=9)
    await app.state.runtime.mirror.refresh()
    assert answer(app.state.runtime.mirror, PHONE_KEY)["categories"] == ["ROMANCE"]

    await run_import(app, "VCB", write_csv(tmp_path / "flags.csv", [PHONE]))

    result = answer(app.state.runtime.mirror, PHONE_KEY)
    assert (result["risk_level"], result["categories"]) == (3, ["ROMANCE", "TASK_SCAM"])
    assert (await totals(app))["subjects"] == 1


async def test_one_bad_row_writes_nothing_and_names_row_and_field(
    app: FastAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small batches, so the good rows before the bad one were already flushed.
    monkeypatch.setattr(service, "BATCH_SIZE", 2)
    await make_org(app, "VCB", "bank", "970436")
    before = await totals(app)
    rows = [*phone_rows(5), ["phone", "", "12345", "TASK_SCAM"], *phone_rows(3, 200_000)]
    path = write_csv(tmp_path / "flags.csv", rows)

    report = await run_import(app, "VCB", path)

    assert report.committed is False
    assert (report.created, report.skipped, report.rows, report.error_count) == (0, 0, 9, 1)
    [error] = report.errors
    assert (error.row, error.field) == (7, "identifier")
    assert "Vietnamese mobile number" in error.message
    assert await totals(app) == before
    assert not answer(app.state.runtime.mirror, "phone::+84912100000")["listed"]


@pytest.mark.parametrize(
    ("row", "field", "words"),
    [
        (["fax", "", "0912345678", "TASK_SCAM"], "kind", "bank_account"),
        (["bank_account", "NOBANK", "0123456789", "TASK_SCAM"], "institution", "unknown bank"),
        (["phone", "", "", "TASK_SCAM"], "identifier", "required"),
        (["phone", "", "0912345678", "NOT_A_TYPOLOGY"], "category", "unknown category"),
        (["phone", "", "0912345678", "task_scam"], "category", "pattern"),
        (["phone", "", "0912345678", "TASK_SCAM", "x" * 2001], "description", "2000"),
        (["phone", "", "0912345678", "TASK_SCAM", "", "1,000"], "amount_lost_vnd", "whole"),
        (["phone", "", "0912345678", "TASK_SCAM", "", "-1"], "amount_lost_vnd", "greater"),
        (["phone", "", "0912345678", "TASK_SCAM", "", str(10**15 + 1)], "amount_lost_vnd", "less"),
        ([*PHONE, "", "", "", "", "surplus"], "column 9", "beyond the header"),
    ],
)
async def test_each_api_rule_is_a_row_error(
    app: FastAPI, tmp_path: Path, row: list[str], field: str, words: str
) -> None:
    await make_org(app, "VCB", "bank", "970436")
    path = write_csv(tmp_path / "flags.csv", [PHONE, row])

    report = await run_import(app, "VCB", path)

    assert [(e.row, e.field) for e in report.errors] == [(3, field)]
    assert words in report.errors[0].message
    assert (report.committed, (await totals(app))["flags"]) == (False, 0)


async def test_largest_amount_is_accepted(app: FastAPI, tmp_path: Path) -> None:
    await make_org(app, "VCB", "bank", "970436")
    path = write_csv(tmp_path / "flags.csv", [[*PHONE, "", str(10**15)]])
    assert (await run_import(app, "VCB", path)).created == 1


async def test_errors_are_capped_but_all_counted(
    app: FastAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "MAX_ERRORS", 3)
    await make_org(app, "VCB", "bank", "970436")
    bad = [["phone", "", "0912345678", "NOPE"]] * 5
    report = await run_import(app, "VCB", write_csv(tmp_path / "flags.csv", bad))
    assert (report.error_count, [e.row for e in report.errors]) == (5, [2, 3, 4])


async def test_case_reference_is_for_police_only(app: FastAPI, tmp_path: Path) -> None:
    await make_org(app, "VCB", "bank", "970436")
    await make_org(app, "C06", "police")
    path = write_csv(tmp_path / "flags.csv", [[*PHONE, "", "", "VKS-2024-17"]])

    refused = await run_import(app, "VCB", path)
    accepted = await run_import(app, "C06", path)

    assert refused.errors == [RowError(2, "case_reference", "only police may set case_reference")]
    assert (accepted.created, accepted.committed) == (1, True)
    async with app.state.runtime.db.read_session() as session:
        flag = (await session.execute(select(Flag))).scalar_one()
    assert (flag.status, flag.expires_at, flag.case_reference) == ("confirmed", None, "VKS-2024-17")
    assert answer(app.state.runtime.mirror, PHONE_KEY)["action"] == "hold"


@pytest.mark.parametrize(
    ("header", "words"),
    [
        ([*HEADER, "notes"], "unknown column(s): notes"),
        (HEADER[1:], "missing required column(s): kind"),
        ([*HEADER[:4], "kind"], "repeated column(s): kind"),
        (["kind", "", *HEADER[1:4]], "column 2 has no name"),
    ],
)
async def test_bad_header_is_refused_before_anything_is_written(
    app: FastAPI, tmp_path: Path, header: list[str], words: str
) -> None:
    await make_org(app, "VCB", "bank", "970436")
    before = await totals(app)
    path = write_csv(tmp_path / "flags.csv", [PHONE], header=header)
    with pytest.raises(ImportFileError, match=re.escape(words)):
        await run_import(app, "VCB", path)
    assert await totals(app) == before


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("flags.csv", b"", "empty"),
        ("flags.xls", b"kind", "unsupported file type"),
        ("flags.xlsx", b"kind,institution", "not a readable XLSX"),
        ("flags.csv", b"kind,institution,identifier,category\nphone,,09\xff,X\n", "row 2"),
        ("flags.csv", b'kind,institution,identifier,category\nphone,,"0912,X\n', "row 2"),
    ],
)
async def test_unreadable_files_are_refused(
    app: FastAPI, tmp_path: Path, name: str, content: bytes, words: str
) -> None:
    await make_org(app, "VCB", "bank", "970436")
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ImportFileError, match=words):
        await run_import(app, "VCB", tmp_path / name)


async def test_unknown_and_inactive_organisations_are_refused(app: FastAPI, tmp_path: Path) -> None:
    await make_org(app, "SBV", "regulator")
    await make_org(app, "OLD", "telecom")
    async with unit_of_work(app.state.runtime.db, Actor.command_line()) as uow:
        await deactivate_organisation(uow, "OLD")
    before = await totals(app)
    path = write_csv(tmp_path / "flags.csv", [PHONE])
    with pytest.raises(OrganisationNotFound, match="NOPE"):
        await run_import(app, "NOPE", path)
    with pytest.raises(service.ImportRefused, match="regulator"):
        await run_import(app, "SBV", path)
    with pytest.raises(service.ImportRefused, match="deactivated"):
        await run_import(app, "OLD", path)
    assert await totals(app) == before


async def test_bom_prefixed_csv_is_read(app: FastAPI, tmp_path: Path) -> None:
    await make_org(app, "VCB", "bank", "970436")
    path = write_csv(tmp_path / "flags.csv", ROWS, encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")

    report = await run_import(app, "VCB", path)

    assert (report.created, report.errors) == (3, [])


async def test_duplicates_inside_a_file_are_flagged_once(
    app: FastAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "BATCH_SIZE", 2)  # a repeat both within and across batches
    await make_org(app, "VCB", "bank", "970436")
    same_account = ["bank_account", "970436", "001100234567 8", *ACCOUNT[3:]]
    romance = [*PHONE[:3], "ROMANCE", unicodedata.normalize("NFC", "Lừa đảo tình cảm")]
    same_romance = [*romance[:4], unicodedata.normalize("NFD", romance[4])]
    rows = [ACCOUNT, ACCOUNT, PHONE, same_account, WALLET, romance, same_romance]
    path = write_csv(tmp_path / "flags.csv", rows)

    report = await run_import(app, "VCB", path)

    # ``romance`` (and its NFD twin, in the next batch) is the phone again under another
    # category: one active flag per organisation and subject.
    assert (report.created, report.skipped, report.rows) == (3, 4, 7)
    assert report.already_flagged == 2
    assert (await totals(app))["flags"] == 3


async def test_one_subject_under_three_categories_is_one_flag(app: FastAPI, tmp_path: Path) -> None:
    await make_org(app, "VCB", "bank", "970436")
    rows = [[*PHONE[:3], category] for category in ("TASK_SCAM", "ROMANCE", "FAKE_LOAN")]
    report = await run_import(app, "VCB", write_csv(tmp_path / "flags.csv", rows))

    assert (report.created, report.already_flagged) == (1, 2)
    [event] = await events_of(app, "subject")
    assert event.state["categories"] == ["TASK_SCAM"]
    assert len(await events_of(app, "flag")) == 1


async def test_change_event_chain_stays_gap_free_and_verifies(
    app: FastAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "BATCH_SIZE", 3)
    await make_org(app, "VCB", "bank", "970436")
    await run_import(app, "VCB", write_csv(tmp_path / "a.csv", phone_rows(7)))
    await make_org(app, "C06", "police")  # an ordinary write between two imports
    await run_import(app, "C06", write_csv(tmp_path / "b.csv", phone_rows(4, 100_005)))

    async with app.state.runtime.db.read_session() as session:
        seqs = list((await session.execute(select(ChangeEvent.seq).order_by("seq"))).scalars())
        result = await verify_chain(session)
    # 2 organisations, 11 flags, 7 subjects listed by the bank, then 4 raised to hold by the
    # police (2 of them already listed by the bank, 2 new).
    assert seqs == list(range(1, 2 + 11 + 7 + 4 + 1))
    assert (result.ok, result.head_seq, result.checked) == (True, seqs[-1], len(seqs))


async def test_progress_is_reported_after_each_batch(
    app: FastAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "BATCH_SIZE", 2)
    await make_org(app, "VCB", "bank", "970436")
    path = write_csv(tmp_path / "flags.csv", phone_rows(5))
    seen: list[int] = []

    await run_import(app, "VCB", path, progress=seen.append)

    assert seen == [2, 4, 5]
    assert count_data_rows(path) == 5


def test_count_data_rows_is_an_upper_bound_without_trailing_newline(tmp_path: Path) -> None:
    path = tmp_path / "flags.csv"
    path.write_bytes(b"kind,institution,identifier,category\nphone,,0912345678,X")
    assert count_data_rows(path) == 1
    path.write_bytes(b"kind,institution,identifier,category\n")
    assert count_data_rows(path) == 0


async def test_a_file_error_after_written_batches_rolls_everything_back(
    app: FastAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "BATCH_SIZE", 2)  # rows 2-5 are flushed before row 6 is read
    await make_org(app, "VCB", "bank", "970436")
    before = await totals(app)
    path = write_csv(tmp_path / "flags.csv", phone_rows(4))
    with path.open("ab") as file:
        file.write(b"phone,,0912\xe9345678,TASK_SCAM\n")

    with pytest.raises(ImportFileError, match="row 6: not valid UTF-8"):
        await run_import(app, "VCB", path)

    assert await totals(app) == before
