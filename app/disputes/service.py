"""Disputes (SPEC §6, §8): opened by the holder's institution, decided once; an upheld
dispute clears the subject's flags. Who may do what is ``app.disputes.policy``."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.vocabulary import Action, Change, EntityType
from app.auth.actor import Actor
from app.db.types import utcnow
from app.db.unit_of_work import UnitOfWork
from app.disputes import policy
from app.disputes.repository import DisputeRepository, DisputeRow
from app.disputes.schemas import DisputeCreate, DisputeRead, DisputeResolve
from app.errors import AppError, Conflict, InvalidInput, NotFound
from app.flags.policy import FlagAction
from app.flags.repository import FlagRepository
from app.flags.service import apply_transition
from app.models import Dispute, Organisation, Subject
from app.preconditions import check_if_match
from app.subjects.repository import SubjectRepository
from app.subjects.risk import ACTIVE_STATUSES
from app.subjects.service import identify, rederive
from app.webhooks.outbox import notify_dispute


class DisputeNotFound(NotFound):
    title = "Dispute not found"


class NotOwnInstitution(AppError):
    status = 403
    type_slug = "not-own-institution"
    title = "Disputes are opened only for subjects at your own institution"
    description = (
        "A bank or e-wallet disputes only accounts held at its own institution, a telecom only "
        "phone numbers; this subject is held elsewhere."
    )
    remedy = "Ask the institution that holds the account to open the dispute; do not retry."


class NothingToDispute(Conflict):
    type_slug = "nothing-to-dispute"
    title = "The subject has no active flag to dispute"
    description = (
        "A dispute contests an active flag, and the subject has none (or the flag_id you named "
        "is no longer active)."
    )
    remedy = "Look the subject up again; if it is no longer listed there is nothing to dispute."


class DisputeAlreadyOpen(Conflict):
    type_slug = "dispute-open"
    title = "The subject already has an open dispute"
    description = "A subject has at most one open dispute at a time; dispute_id names it."
    remedy = "Follow the open dispute named by dispute_id instead of opening another."

    def __init__(self, dispute_id: str) -> None:
        super().__init__(f"dispute {dispute_id} is open for this subject")
        self.extra = {"dispute_id": dispute_id}


class DisputeClosed(Conflict):
    type_slug = "dispute-closed"
    title = "The dispute is already decided"
    description = "The dispute was already resolved (upheld or rejected); a decision is final."
    remedy = "Read the dispute for its outcome; open a new dispute if new facts arise."


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


def _dispute_change(row: DisputeRow, action: Action, now: datetime) -> Change:
    dispute, subject, _ = row
    return Change(
        entity_type=EntityType.DISPUTE,
        entity_id=dispute.id,
        entity_version=dispute.version,
        action=action,
        state=dispute_read(*row, now=now).model_dump(mode="json", exclude={"overdue"}),
        subject_key=subject.key,
    )


async def _record(uow: UnitOfWork, row: DisputeRow, action: Action) -> None:
    """Chain the dispute's change and tell its opener (``dispute.updated``)."""
    change = _dispute_change(row, action, uow.now)
    await uow.record(change)
    await notify_dispute(uow, row[0].organisation_id, action, change.state)


def _flag_id_error(message: str) -> InvalidInput:
    return InvalidInput(
        message,
        errors=[{"loc": ["body", "flag_id"], "msg": message, "type": "value_error"}],
    )


async def open_dispute(uow: UnitOfWork, data: DisputeCreate, *, dispute_days: int) -> DisputeRow:
    """Open a dispute for a listed subject held at the caller's institution."""
    actor = uow.actor
    identifier = identify(data.subject, ("body", "subject"))
    if not policy.holds_the_account(actor, identifier.kind, identifier.institution):
        raise NotOwnInstitution(f"a {actor.org_kind} may not dispute this subject")
    subjects = SubjectRepository(uow.session)
    subject = await subjects.by_key(identifier.key)
    flags = await subjects.flags_of(subject.id) if subject is not None else []
    active = {f.id for f in flags if f.status in ACTIVE_STATUSES}
    if subject is None or not active:
        raise NothingToDispute(f"{identifier.key} has no active flag")
    if data.flag_id is not None and data.flag_id not in {f.id for f in flags}:
        raise _flag_id_error("flag_id is not a flag of this subject")
    if data.flag_id is not None and data.flag_id not in active:
        raise NothingToDispute(f"flag {data.flag_id} is no longer active")
    repo = DisputeRepository(uow.session)
    already = await repo.open_for_subject(subject.id)
    if already:
        raise DisputeAlreadyOpen(already[0].id)
    assert actor.org_id is not None
    now = uow.now
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
    uow.session.add(dispute)
    await uow.session.flush()
    org = await uow.session.get(Organisation, actor.org_id)
    assert org is not None
    row = (dispute, subject, org)
    await _record(uow, row, Action.OPENED)
    await rederive(uow, subject)
    return row


async def get_dispute(session: AsyncSession, actor: Actor, dispute_id: str) -> DisputeRow:
    row = await DisputeRepository(session).get(dispute_id)
    if row is None or not policy.may_see(actor, row[0]):
        raise DisputeNotFound(f"no dispute {dispute_id}")
    return row


async def resolve_dispute(
    uow: UnitOfWork, dispute_id: str, data: DisputeResolve, if_match: str | None
) -> DisputeRow:
    """Decide a dispute. Upheld clears the subject's active flags at once."""
    row = await DisputeRepository(uow.session).get(dispute_id)
    if row is None or not policy.may_resolve(uow.actor):
        raise DisputeNotFound(f"no dispute {dispute_id}")
    dispute, subject, _ = row
    check_if_match(if_match, dispute.version)
    if dispute.status != "open":
        raise DisputeClosed(f"dispute is {dispute.status}")
    dispute.status = data.outcome
    dispute.note = data.note
    dispute.resolved_by = uow.actor.org_code
    dispute.resolved_at = dispute.updated_at = uow.now
    dispute.version += 1
    await uow.session.flush()
    outcome = Action.UPHELD if data.outcome == "upheld" else Action.REJECTED
    await _record(uow, row, outcome)
    if outcome is Action.UPHELD:
        flags = FlagRepository(uow.session)
        for flag in await SubjectRepository(uow.session).flags_of(subject.id):
            if flag.status in ACTIVE_STATUSES:
                flag_row = await flags.get(flag.id)
                assert flag_row is not None
                await apply_transition(uow, flag_row, FlagAction.CLEAR, then_rederive=False)
    await rederive(uow, subject)
    return row
