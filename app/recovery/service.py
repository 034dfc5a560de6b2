"""Ledger rules: whole VND, never release or return more than is held."""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.repository import EventWriter
from app.auth.actor import Actor
from app.errors import InvalidInput
from app.models import RecoveryEntry
from app.recovery.repository import RecoveryRepository
from app.recovery.schemas import (
    CaseTotals,
    RecoveryCreate,
    RecoveryRead,
    RecoveryTotals,
    SubjectRecoveries,
)
from app.subjects.repository import SubjectRepository
from app.subjects.service import SubjectNotFound, identify

_FIELD = {"freeze": "frozen_vnd", "release": "released_vnd", "return": "returned_vnd"}


def totals_of(amounts: dict[str, int]) -> RecoveryTotals:
    frozen = amounts.get("freeze", 0)
    released = amounts.get("release", 0)
    returned = amounts.get("return", 0)
    return RecoveryTotals(
        frozen_vnd=frozen,
        released_vnd=released,
        returned_vnd=returned,
        held_vnd=frozen - released - returned,
    )


def _subject_totals(sums: dict[tuple[str | None, str], int]) -> RecoveryTotals:
    per_action: dict[str, int] = defaultdict(int)
    for (_, action), amount in sums.items():
        per_action[action] += amount
    return totals_of(per_action)


async def record_entry(session: AsyncSession, actor: Actor, data: RecoveryCreate) -> RecoveryRead:
    """Append a freeze, release or return; 422 when it would take out more than is held."""
    identifier = identify(data.subject, ("body", "subject"))
    events = await EventWriter.begin(session, actor)
    subject = await SubjectRepository(session).get_or_create(identifier)
    repo = RecoveryRepository(session)
    before = _subject_totals(await repo.sums(subject.id))
    if data.action != "freeze" and data.amount_vnd > before.held_vnd:
        raise InvalidInput(
            f"cannot {data.action} {data.amount_vnd} VND: only {before.held_vnd} VND is held",
            errors=[
                {
                    "loc": ["body", "amount_vnd"],
                    "msg": "exceeds the amount held",
                    "type": "value_error",
                }
            ],
        )
    assert actor.org_id is not None
    entry = RecoveryEntry(
        id=str(uuid.uuid4()),
        subject_id=subject.id,
        organisation_id=actor.org_id,
        action=data.action,
        amount_vnd=data.amount_vnd,
        case_reference=data.case_reference,
        note=data.note,
        created_at=events.now,
    )
    session.add(entry)
    await session.flush()
    after = before.model_copy(
        update={_FIELD[data.action]: getattr(before, _FIELD[data.action]) + data.amount_vnd}
    )
    after.held_vnd = after.frozen_vnd - after.released_vnd - after.returned_vnd
    read = RecoveryRead(
        id=entry.id,
        subject_key=subject.key,
        organisation=actor.org_code or "",
        action=data.action,
        amount_vnd=entry.amount_vnd,
        case_reference=entry.case_reference,
        note=entry.note,
        created_at=entry.created_at,
        totals=after,
    )
    await events.append(
        entity_type="recovery",
        entity_id=entry.id,
        entity_version=1,
        action=data.action,
        state=read.model_dump(mode="json"),
        subject_key=subject.key,
    )
    return read


async def subject_recoveries(session: AsyncSession, key: str) -> SubjectRecoveries:
    """Every entry of one subject, with totals overall and per case."""
    subject = await SubjectRepository(session).by_key(key)
    if subject is None:
        raise SubjectNotFound(f"no subject {key}")
    repo = RecoveryRepository(session)
    sums = await repo.sums(subject.id)
    cases: dict[str | None, dict[str, int]] = defaultdict(dict)
    for (case, action), amount in sums.items():
        cases[case][action] = amount
    entries: list[RecoveryRead] = []
    running: dict[str, int] = defaultdict(int)
    for entry, org in await repo.entries(subject.id):
        running[entry.action] += entry.amount_vnd
        entries.append(
            RecoveryRead(
                id=entry.id,
                subject_key=key,
                organisation=org.code,
                action=entry.action,
                amount_vnd=entry.amount_vnd,
                case_reference=entry.case_reference,
                note=entry.note,
                created_at=entry.created_at,
                totals=totals_of(running),
            )
        )
    by_case = [
        CaseTotals(case_reference=case, totals=totals_of(amounts))
        for case, amounts in sorted(cases.items(), key=lambda kv: kv[0] or "")
    ]
    return SubjectRecoveries(
        key=key, entries=entries, totals=_subject_totals(sums), by_case=by_case
    )
