"""The recovery ledger (SPEC §6, §8): freezes, releases and returns, in whole VND, per case.

Money is held per case (``case_reference``; entries without one share the subject's
no-case bucket): a release or return never exceeds what its own case holds, so no
per-case figure is ever negative and one case's freeze cannot pay out another's. Who may
record and read is ``app.recovery.policy``; every entry is a chained change event.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.vocabulary import Action, Change, EntityType
from app.auth.actor import Actor
from app.db.unit_of_work import UnitOfWork
from app.errors import InvalidInput
from app.identifiers.normalise import Subject as Identifier
from app.models import RecoveryEntry
from app.pagination import decode_time_cursor, next_time_cursor
from app.recovery import policy
from app.recovery.repository import RecoveryRepository
from app.recovery.schemas import (
    CaseTotals,
    LedgerLine,
    LedgerPage,
    RecoveryCreate,
    RecoveryRead,
    RecoveryTotals,
    SubjectCaseTotals,
    SubjectRecoveries,
)
from app.subjects.repository import SubjectRepository
from app.subjects.service import SubjectNotFound, identify

Sums = Mapping[tuple[str | None, str], int]


def totals_of(amounts: Mapping[str, int]) -> RecoveryTotals:
    frozen = amounts.get("freeze", 0)
    released = amounts.get("release", 0)
    returned = amounts.get("return", 0)
    return RecoveryTotals(
        frozen_vnd=frozen,
        released_vnd=released,
        returned_vnd=returned,
        held_vnd=frozen - released - returned,
    )


def _totals(sums: Sums, case: str | None = None, *, every_case: bool = True) -> RecoveryTotals:
    per_action: dict[str, int] = defaultdict(int)
    for (entry_case, action), amount in sums.items():
        if every_case or entry_case == case:
            per_action[action] += amount
    return totals_of(per_action)


def _refuse(field: str, message: str) -> InvalidInput:
    errors = [{"loc": ["body", field], "msg": message, "type": "value_error"}]
    return InvalidInput(message, errors=errors)


def ledger_subject(actor: Actor, data: RecoveryCreate) -> Identifier:
    """The entry's subject, if this caller may record for it (else 404, or 422 for phones)."""
    identifier = identify(data.subject, ("body", "subject"))
    if not policy.may_record(actor, identifier):
        raise SubjectNotFound(f"no subject {identifier.key}")
    if not policy.holds_money(identifier):
        raise _refuse("subject", "phone numbers hold no money")
    return identifier


async def record_entry(uow: UnitOfWork, data: RecoveryCreate) -> RecoveryRead:
    """Append a freeze, release or return; 422 when it would take out more than its case
    holds."""
    actor = uow.actor
    identifier = ledger_subject(actor, data)
    subject = await SubjectRepository(uow.session).get_or_create(identifier)
    sums = dict(await RecoveryRepository(uow.session).sums(subject.id))
    case = _totals(sums, data.case_reference, every_case=False)
    if data.action != "freeze" and data.amount_vnd > case.held_vnd:
        bucket = f"case {data.case_reference}" if data.case_reference else "the no-case bucket"
        raise _refuse(
            "amount_vnd",
            f"cannot {data.action} {data.amount_vnd} VND: {bucket} holds {case.held_vnd} VND",
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
        created_at=uow.now,
    )
    uow.session.add(entry)
    await uow.session.flush()
    bucket_key = (data.case_reference, data.action)
    sums[bucket_key] = sums.get(bucket_key, 0) + data.amount_vnd
    read = RecoveryRead(
        id=entry.id,
        subject_key=subject.key,
        organisation=actor.org_code or "",
        action=data.action,
        amount_vnd=entry.amount_vnd,
        case_reference=entry.case_reference,
        note=entry.note,
        created_at=entry.created_at,
        totals=_totals(sums),
        case_totals=_totals(sums, data.case_reference, every_case=False),
    )
    await uow.record(
        Change(
            entity_type=EntityType.RECOVERY,
            entity_id=entry.id,
            entity_version=1,
            action=Action(data.action),
            state=read.model_dump(mode="json"),
            subject_key=subject.key,
        )
    )
    return read


async def subject_recoveries(
    session: AsyncSession, actor: Actor, identifier: Identifier
) -> SubjectRecoveries:
    """Every entry of one subject, with totals overall and per case; zero totals for a
    subject with no entries (or none known): existence is not revealed here."""
    key = identifier.key
    if not policy.may_read(actor, identifier):
        raise SubjectNotFound(f"no subject {key}")
    subject = await SubjectRepository(session).by_key(key)
    if subject is None:
        return SubjectRecoveries(key=key, entries=[], totals=RecoveryTotals(), by_case=[])
    repo = RecoveryRepository(session)
    sums = await repo.sums(subject.id)
    entries: list[RecoveryRead] = []
    running: dict[tuple[str | None, str], int] = defaultdict(int)
    for entry, org in await repo.entries(subject.id):
        running[(entry.case_reference, entry.action)] += entry.amount_vnd
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
                totals=_totals(running),
                case_totals=_totals(running, entry.case_reference, every_case=False),
            )
        )
    cases = sorted({case for case, _ in sums}, key=lambda case: case or "")
    by_case = [
        CaseTotals(case_reference=case, totals=_totals(sums, case, every_case=False))
        for case in cases
    ]
    return SubjectRecoveries(key=key, entries=entries, totals=_totals(sums), by_case=by_case)


async def ledger_page(
    session: AsyncSession, actor: Actor, cursor: str | None, limit: int
) -> LedgerPage:
    """The entries this caller may read (``policy.listed_holdings``), newest first, with
    the current totals of each (subject, case) on the page; another institution's
    entries are never listed."""
    before = decode_time_cursor(cursor)
    if before is not None and before[0].tzinfo is None:
        raise InvalidInput("cursor is not valid")
    repo = RecoveryRepository(session)
    rows = await repo.page(policy.listed_holdings(actor), before, limit + 1)
    next_cursor = next_time_cursor(rows, limit)
    rows = rows[:limit]
    sums = await repo.sums_of({subject.id for _, subject, _ in rows})
    entries = [
        LedgerLine(
            id=entry.id,
            subject_key=subject.key,
            organisation=org.code,
            action=entry.action,
            amount_vnd=entry.amount_vnd,
            case_reference=entry.case_reference,
            note=entry.note,
            created_at=entry.created_at,
        )
        for entry, subject, org in rows
    ]
    cases = sorted(
        {(subject.key, subject.id, entry.case_reference) for entry, subject, _ in rows},
        key=lambda item: (item[0], item[2] or ""),
    )
    by_case = [
        SubjectCaseTotals(
            subject_key=key,
            case_reference=case,
            totals=_totals(sums[subject_id], case, every_case=False),
        )
        for key, subject_id, case in cases
    ]
    return LedgerPage(entries=entries, by_case=by_case, next_cursor=next_cursor)
