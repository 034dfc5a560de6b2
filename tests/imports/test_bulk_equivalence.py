"""The import's fast paths give exactly what the API's own code gives.

The bulk import builds event states as plain dicts (``app.imports.derive``) and the chain
encodes events without walking them when it can (``app.audit.chain``); both are held here
to the slow, authoritative forms: equal values, equal key order, equal bytes.
"""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.audit.chain import HASHED_FIELDS, canonical_bytes, format_timestamp
from app.auth.actor import Actor
from app.flags.service import flag_read
from app.imports.derive import FlagMaker, SubjectRecord, Timestamps, subject_state
from app.imports.reader import SourceRow
from app.imports.rows import PreparedRow, prepare_row
from app.models import ChangeEvent, Flag, Organisation, Subject
from app.subjects import service as subjects
from tests.factories import make_org
from tests.imports.test_import import HEADER, PHONE, ROWS, run_import, write_csv

NOW = datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=UTC)


def _reference_canonical(event: dict[str, Any]) -> bytes:
    """The chain's canonical form as first written: walk, NFC every string, then dump."""

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return unicodedata.normalize("NFC", value)
        if isinstance(value, dict):
            return {walk(k): walk(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [walk(v) for v in value]
        if isinstance(value, datetime):
            return format_timestamp(value)
        return value

    body = {name: walk(event.get(name)) for name in HASHED_FIELDS}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


TRICKY_STRINGS = [
    "plain",
    "Nguyễn Văn Đức",
    unicodedata.normalize("NFD", "Nguyễn Văn Đức"),  # decomposed: must be recomposed
    "\u212b",  # a singleton: NFC maps it to Å
    "a\u0316\u0301",  # marks already in canonical order
    "a\u0301\u0316",  # marks out of order
    "\n\u0303",  # an escape's letter next to a mark it could compose with
    'quote " and \\ backslash \t\x01',
    "\u1100\u1161\u11a8",  # conjoining jamo compose
    "",
]


@pytest.mark.parametrize("text", TRICKY_STRINGS)
def test_canonical_bytes_match_the_walk(text: str) -> None:
    other_zone = timezone(timedelta(hours=7))
    event = {
        "seq": 7,
        "occurred_at": NOW,
        "entity_type": "flag",
        "entity_id": text,
        "state": {
            text: [text, (text, NOW.astimezone(other_zone))],
            "nested": {"z": None, "a": 1.5, text + "k": True},
            "when": NOW + timedelta(microseconds=1),
        },
        "subject_key": text,
    }
    assert canonical_bytes(event) == _reference_canonical(event)


def _prepared(values: list[str], actor: Actor) -> PreparedRow:
    cells: dict[str, str | None] = dict.fromkeys(HEADER)
    cells.update({k: v or None for k, v in zip(HEADER, values, strict=False)})
    result = prepare_row(SourceRow(2, cells), actor)
    assert isinstance(result, PreparedRow), result
    return result


@pytest.mark.parametrize("kind", ["bank", "police"])
def test_flag_state_equals_flag_read(kind: str) -> None:
    org = Organisation(id=5, code="ORG", name="Org", kind=kind, institution=None, active=True)
    actor = Actor(org.id, org.code, kind, None, "cli:import", None, "import:x")
    expires = None if kind == "police" else NOW + timedelta(days=90)
    status = "confirmed" if kind == "police" else "reported"
    maker = FlagMaker(org, status, NOW, expires)
    case = ["phone", "", "0912 345 678", "ROMANCE", "mô tả", "12", "HS-1/2026" * (kind == "police")]
    for values in [*ROWS, case]:
        row = _prepared(values, actor)
        record = SubjectRecord.new(row.subject)
        record.id = 11
        flag_row = maker.row(record.id, row)
        flag = Flag(**flag_row)
        subject = Subject(
            id=11,
            key=record.key,
            kind=record.kind,
            institution=record.institution,
            identifier=record.identifier,
        )
        expected = flag_read(flag, subject, org).model_dump(mode="json")
        state = maker.state(flag_row, record)
        assert state == expected
        assert list(state) == list(expected)
        assert list(state["subject"]) == list(expected["subject"])


def test_subject_state_equals_the_services() -> None:
    for first, last in [(None, None), (NOW, NOW), (NOW - timedelta(days=3), NOW)]:
        key, ident = "phone::+84912345678", "+84912345678"
        record = SubjectRecord(4, key, "phone", None, ident, 2, ["A", "B"], True, first, last, 3)
        subject = Subject(**{name: getattr(record, name) for name in record.row()}, id=4)
        expected = subjects.subject_state(subject)
        state = subject_state(record, Timestamps())
        assert state == expected
        assert list(state) == list(expected)


async def test_subject_events_match_the_stored_subjects(app: FastAPI, tmp_path: Path) -> None:
    """Across two imports (new subjects, then the same subjects again by another
    organisation, twice for one subject: only its first row is flagged, SPEC §8), each
    subject's latest event is the subject as stored."""
    await make_org(app, "VCB", "bank", "970436")
    await make_org(app, "ACB", "bank", "970416")
    await run_import(app, "VCB", write_csv(tmp_path / "a.csv", ROWS))
    second = await run_import(
        app, "ACB", write_csv(tmp_path / "b.csv", [PHONE, [*PHONE[:3], "ROMANCE"]])
    )
    assert (second.created, second.already_flagged) == (1, 1)

    async with app.state.runtime.db.read_session() as session:
        stored = {s.key: s for s in (await session.execute(select(Subject))).scalars()}
        stmt = select(ChangeEvent).where(ChangeEvent.entity_type == "subject")
        latest: dict[str, ChangeEvent] = {}
        for event in (await session.execute(stmt.order_by(ChangeEvent.seq))).scalars():
            latest[event.entity_id] = event
    assert latest.keys() == stored.keys()
    for key, subject in stored.items():
        assert latest[key].state == subjects.subject_state(subject)
        assert latest[key].entity_version == subject.version
    phone = stored[subjects.canonical_key("phone::+84912345678")]
    assert (phone.risk_level, phone.version) == (2, 2)
    assert phone.categories == ["TASK_SCAM"]
    assert phone.first_flagged_at is not None
