"""Dispute rules: own-institution only, a deadline, and an upheld dispute clears flags."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.repository import EventWriter
from app.auth.actor import Actor
from app.auth.scopes import OrgKind, Scope
from app.db.types import utcnow
from app.disputes.repository import DisputeRepository, DisputeRow
from app.disputes.schemas import DisputeCreate, DisputeRead, DisputeResolve
from app.errors import AppError, Conflict, InvalidInput, NotFound
from app.flags.repository import FlagRepository
from app.flags.service import apply_transition
from app.models import Dispute, Organisation, Subject
from app.preconditions import check_if_match
from app.subjects.repository import SubjectRepository
from app.subjects.risk import ACTIVE_STATUSES
from app.subjects.service import identify, rederive


class DisputeNotFound(NotFound):
    title = "Dispute not found"


class NotOwnInstitution(AppError):
    status = 403
    type_slug = "not-own-institution"
    title = "Disputes are opened only for subjects at your own institution"


class NothingToDispute(Conflict):
    type_slug = "nothing-to-dispute"
    title = "The subject has no active flag to dispute"


class DisputeClosed(Conflict):
    type_slug = "dispute-closed"
    title = "The dispute is already decided"


def dispute_read(
    dispute: Dispute, subject: Subject, org: Organisation, now: datetime | None = None
) -> DisputeRead:
    now = now or utcnow()
    return DisputeRead(
        id=dispute.id,
        subject_key=subject.key,
        organisation=org.code,
        flag_id=dispute.flag_id,
        reason=dispute.reason,
        status=dispute.status,
        note=dispute.note,
        resolved_by=dispute.resolved_by,
        due_at=dispute.due_at,
        overdue=dispute.status == "open" and dispute.due_at < now,
        resolved_at=dispute.resolved_at,
        version=dispute.version,
        created_at=dispute.created_at,
        updated_at=dispute.updated_at,
    )


def _state(row: DisputeRow, now: datetime) -> dict[str, Any]:
    return dispute_read(*row, now=now).model_dump(mode="json", exclude={"overdue"})


def check_own_institution(actor: Actor, kind: str, institution: str | None) -> None:
    """Banks and e-wallets: their own institution code; telecoms: phone numbers."""
    if actor.org_kind == OrgKind.TELECOM:
        ok = kind == "phone"
    elif actor.org_kind == OrgKind.BANK:
        ok = kind == "bank_account" and institution == actor.institution
    elif actor.org_kind == OrgKind.EWALLET:
        ok = kind == "ewallet" and institution == actor.institution
    else:
        ok = False
    if not ok:
        raise NotOwnInstitution(f"a {actor.org_kind} may not dispute this subject")


async def open_dispute(
    session: AsyncSession, actor: Actor, data: DisputeCreate, *, dispute_days: int
) -> DisputeRow:
    """Open a dispute for a listed subject held at the caller's institution."""
    identifier = identify(data.subject, ("body", "subject"))
    check_own_institution(actor, identifier.kind, identifier.institution)
    events = await EventWriter.begin(session, actor)
    subjects = SubjectRepository(session)
    subject = await subjects.by_key(identifier.key)
    flags = await subjects.flags_of(subject.id) if subject is not None else []
    if subject is None or not any(f.status in ACTIVE_STATUSES for f in flags):
        raise NothingToDispute(f"{identifier.key} has no active flag")
    if data.flag_id is not None and data.flag_id not in {f.id for f in flags}:
        raise InvalidInput(
            "flag_id is not a flag of this subject",
            errors=[
                {
                    "loc": ["body", "flag_id"],
                    "msg": "not a flag of this subject",
                    "type": "value_error",
                }
            ],
        )
    assert actor.org_id is not None
    now = events.now
    dispute = Dispute(
        id=str(uuid.uuid4()),
        subject_id=subject.id,
        organisation_id=actor.org_id,
        flag_id=data.flag_id,
        reason=data.reason,
        status="open",
        due_at=now + timedelta(days=dispute_days),
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(dispute)
    await session.flush()
    org = await session.get(Organisation, actor.org_id)
    assert org is not None
    row = (dispute, subject, org)
    await events.append(
        entity_type="dispute",
        entity_id=dispute.id,
        entity_version=1,
        action="opened",
        state=_state(row, now),
        subject_key=subject.key,
    )
    await rederive(events, subject, flags, under_dispute=True)
    return row


def visible(actor: Actor, dispute: Dispute) -> bool:
    if actor.scopes & {Scope.DISPUTES_RESOLVE, Scope.HISTORY_READ}:
        return True
    return dispute.organisation_id == actor.org_id


async def get_dispute(session: AsyncSession, actor: Actor, dispute_id: str) -> DisputeRow:
    row = await DisputeRepository(session).get(dispute_id)
    if row is None or not visible(actor, row[0]):
        raise DisputeNotFound(f"no dispute {dispute_id}")
    return row


async def resolve_dispute(
    session: AsyncSession,
    actor: Actor,
    dispute_id: str,
    data: DisputeResolve,
    if_match: str | None,
) -> DisputeRow:
    """Decide a dispute. Upheld clears the subject's active flags at once."""
    events = await EventWriter.begin(session, actor)
    repo = DisputeRepository(session)
    row = await repo.get(dispute_id)
    if row is None:
        raise DisputeNotFound(f"no dispute {dispute_id}")
    dispute, subject, _ = row
    check_if_match(if_match, dispute.version)
    if dispute.status != "open":
        raise DisputeClosed(f"dispute is {dispute.status}")
    dispute.status = data.outcome
    dispute.note = data.note
    dispute.resolved_by = actor.org_code
    dispute.resolved_at = dispute.updated_at = events.now
    dispute.version += 1
    await session.flush()
    await events.append(
        entity_type="dispute",
        entity_id=dispute.id,
        entity_version=dispute.version,
        action=data.outcome,
        state=_state(row, events.now),
        subject_key=subject.key,
    )
    if data.outcome == "upheld":
        flags = FlagRepository(session)
        for flag in await SubjectRepository(session).flags_of(subject.id):
            if flag.status in ACTIVE_STATUSES:
                flag_row = await flags.get(flag.id)
                assert flag_row is not None
                await apply_transition(events, flag_row, "clear", then_rederive=False)
    still_open = bool(await repo.open_for_subject(subject.id))
    await rederive(
        events,
        subject,
        await SubjectRepository(session).flags_of(subject.id),
        under_dispute=still_open,
    )
    return row
