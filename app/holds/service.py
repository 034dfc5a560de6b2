"""Holds between institutions (SPEC §10): requested, answered, confirmed or cancelled.

Lifecycle: ``requested`` → ``held`` | ``declined``; ``held`` → ``confirmed`` (police, for a
case) or ``lapsed`` (not confirmed by ``confirm_by``: ``app.holds.lapse``); money held is
released or returned (``app.holds.money``) until nothing is held: ``closed``. The requester
may cancel while ``requested``. A ``requested`` hold past ``respond_by`` stays requested
and reads ``overdue: true`` (the holder may still answer; the requester may cancel).
Every transition is one chained change event on the subject; who may do what is
``app.holds.policy``. Nothing here commits: the unit of work does.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.vocabulary import Action, Change, EntityType
from app.auth.actor import Actor
from app.config import Settings
from app.db.types import utcnow
from app.db.unit_of_work import UnitOfWork
from app.errors import Conflict, InvalidInput, NotFound
from app.holds import deadlines, policy
from app.holds.repository import HoldRepository, HoldRow
from app.holds.schemas import HoldConfirm, HoldCreate, HoldDeclined, HoldHeld, HoldRead
from app.models import Hold, Organisation, Subject
from app.preconditions import check_if_match
from app.recovery.policy import holds_money
from app.recovery.schemas import RecoveryCreate
from app.recovery.service import record_entry
from app.subjects.repository import SubjectRepository
from app.subjects.schemas import SubjectIn
from app.subjects.service import identify
from app.webhooks.events import EventType
from app.webhooks.outbox import notify


class HoldNotFound(NotFound):
    title = "Hold not found"


class HoldStateConflict(Conflict):
    type_slug = "hold-state"
    title = "The hold's status does not allow this change"
    description = (
        "A hold moves requested → held or declined → confirmed → closed (or lapsed, or "
        "cancelled while requested); the change you asked for is not possible from the "
        "status the hold is in now (detail names it)."
    )
    remedy = "Read the hold again (GET /v1/holds/{id}) and act on its current status."


@dataclass(frozen=True)
class HoldTerms:
    """The deadlines of a new hold, from the settings."""

    respond_hours: float
    confirm_working_days: int
    holidays: Collection[date] = ()

    @classmethod
    def of(cls, settings: Settings) -> HoldTerms:
        return cls(
            settings.hold_respond_hours,
            settings.hold_confirm_working_days,
            settings.hold_holiday_dates,
        )


def refuse(field: str, message: str) -> InvalidInput:
    errors = [{"loc": ["body", field], "msg": message, "type": "value_error"}]
    return InvalidInput(message, errors=errors)


def hold_read(
    hold: Hold,
    subject: Subject,
    requester: Organisation,
    holder: Organisation,
    now: datetime | None = None,
) -> HoldRead:
    now = now or utcnow()
    return HoldRead(
        id=hold.id,
        subject_key=subject.key,
        status=hold.status,  # validated by pydantic
        holder=holder.code,
        requested_by=requester.code,
        amount_vnd=hold.amount_vnd,
        held_vnd=hold.held_vnd,
        released_vnd=hold.released_vnd,
        returned_vnd=hold.returned_vnd,
        remaining_vnd=remaining(hold),
        reason=hold.reason,
        case_reference=hold.case_reference,
        transfer_reference=hold.transfer_reference,
        transferred_at=hold.transferred_at,
        outcome=hold.outcome,
        respond_by=hold.respond_by,
        confirm_by=hold.confirm_by,
        overdue=hold.status == "requested" and hold.respond_by < now,
        responded_at=hold.responded_at,
        confirmed_by=hold.confirmed_by,
        confirmed_at=hold.confirmed_at,
        version=hold.version,
        created_at=hold.created_at,
        updated_at=hold.updated_at,
    )


def hold_state(row: HoldRow) -> dict[str, object]:
    """What a hold's change event records (``overdue`` depends on the clock, not the row)."""
    return hold_read(*row).model_dump(mode="json", exclude={"overdue"})


def remaining(hold: Hold) -> int:
    return hold.held_vnd - hold.released_vnd - hold.returned_vnd


async def record_transition(uow: UnitOfWork, row: HoldRow, action: Action) -> None:
    """Bump the hold's version and chain its new state on the subject's history."""
    hold = row[0]
    hold.version += 1
    hold.updated_at = uow.now
    await uow.session.flush()
    await uow.record(hold_change(row, action))
    await notify_hold(uow, row, EventType.HOLD_UPDATED, action)


async def notify_hold(uow: UnitOfWork, row: HoldRow, type_: EventType, action: Action) -> None:
    """``hold.requested`` / ``hold.updated`` (SPEC §11) to the requester and the holder, in
    the unit of work of the change."""
    hold = row[0]
    data = {"action": action.value, "hold": hold_state(row)}
    await notify(
        uow,
        type_,
        data,
        organisation_ids=[hold.requester_id, hold.holder_id],
        subject_key=row[1].key,
    )


def hold_change(row: HoldRow, action: Action) -> Change:
    hold, subject, _, _ = row
    return Change(
        entity_type=EntityType.HOLD,
        entity_id=hold.id,
        entity_version=hold.version,
        action=action,
        state=hold_state(row),
        subject_key=subject.key,
    )


async def ledger(uow: UnitOfWork, row: HoldRow, action: str, amount: int) -> None:
    """A freeze, release or return of this hold's money in the recovery ledger, by the
    recovery service (its rules unchanged), in this same unit of work."""
    hold, subject, _, _ = row
    entry = RecoveryCreate(
        subject=SubjectIn(
            kind=subject.kind, institution=subject.institution, identifier=subject.identifier
        ),
        action=action,
        amount_vnd=amount,
        case_reference=hold.ledger_case,
        note=f"hold {hold.id}",
    )
    await record_entry(uow, entry)


async def request_hold(uow: UnitOfWork, data: HoldCreate, terms: HoldTerms) -> HoldRow:
    """A new hold for an account or wallet of a registered institution (else 422)."""
    actor = uow.actor
    identifier = identify(data.subject, ("body", "subject"))
    if not holds_money(identifier) or identifier.institution is None:
        raise refuse("subject", "only bank accounts and e-wallets can hold money")
    repo = HoldRepository(uow.session)
    holder = await repo.holder_of(_org_kind(identifier.kind), identifier.institution)
    if holder is None:
        raise refuse("subject", f"institution {identifier.institution} is not registered")
    subject = await SubjectRepository(uow.session).get_or_create(identifier)
    requester = await uow.session.get(Organisation, actor.org_id)
    assert requester is not None
    now = uow.now
    hold = Hold(
        id=str(uuid.uuid4()),
        subject_id=subject.id,
        requester_id=requester.id,
        holder_id=holder.id,
        status="requested",
        amount_vnd=data.amount_vnd,
        held_vnd=0,
        released_vnd=0,
        returned_vnd=0,
        reason=data.reason,
        case_reference=data.case_reference,
        transfer_reference=data.transfer_reference,
        transferred_at=data.transferred_at,
        respond_by=deadlines.respond_by(now, terms.respond_hours),
        confirm_by=deadlines.add_working_days(now, terms.confirm_working_days, terms.holidays),
        version=1,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(hold)
    await uow.session.flush()
    row = (hold, subject, requester, holder)
    await uow.record(hold_change(row, Action.REQUESTED))
    await notify_hold(uow, row, EventType.HOLD_REQUESTED, Action.REQUESTED)
    return row


def _org_kind(subject_kind: str) -> str:
    return "bank" if subject_kind == "bank_account" else "ewallet"


async def get_hold(session: AsyncSession, actor: Actor, hold_id: str) -> HoldRow:
    row = await HoldRepository(session).get(hold_id)
    if row is None or not policy.may_see(actor, row[0], row[1]):
        raise HoldNotFound(f"no hold {hold_id}")
    return row


async def acting_on(
    uow: UnitOfWork, hold_id: str, allowed: Callable[[HoldRow], bool], if_match: str | None
) -> HoldRow:
    """The hold a change is made to: 404 unless the caller is ``allowed`` to make it
    (whether or not it may see the hold), then 428/412 on ``If-Match``."""
    row = await HoldRepository(uow.session).get(hold_id)
    if row is None or not allowed(row):
        raise HoldNotFound(f"no hold {hold_id}")
    check_if_match(if_match, row[0].version)
    return row


def expect(hold: Hold, *statuses: str) -> None:
    if hold.status not in statuses:
        raise HoldStateConflict(f"hold is {hold.status}; this needs {' or '.join(statuses)}")


async def respond_hold(
    uow: UnitOfWork, hold_id: str, answer: HoldHeld | HoldDeclined, if_match: str | None
) -> HoldRow:
    """The holder's answer: held (and frozen in the ledger) or declined."""
    actor = uow.actor
    row = await acting_on(uow, hold_id, lambda r: policy.may_respond(actor, r[1]), if_match)
    hold = row[0]
    expect(hold, "requested")
    if isinstance(answer, HoldHeld) and answer.held_vnd > hold.amount_vnd:
        raise refuse("held_vnd", f"held_vnd is more than the {hold.amount_vnd} VND requested")
    hold.outcome = answer.outcome
    hold.responded_at = uow.now
    if isinstance(answer, HoldDeclined):
        hold.status = "declined"
        await record_transition(uow, row, Action.DECLINED)
        return row
    hold.status = "held"
    hold.held_vnd = answer.held_vnd
    hold.ledger_case = hold.case_reference
    await record_transition(uow, row, Action.HELD)
    await ledger(uow, row, "freeze", answer.held_vnd)
    return row


async def confirm_hold(
    uow: UnitOfWork, hold_id: str, data: HoldConfirm, if_match: str | None
) -> HoldRow:
    """Police confirm a held hold for their case before ``confirm_by``."""
    allowed = policy.may_confirm(uow.actor)
    row = await acting_on(uow, hold_id, lambda _: allowed, if_match)
    hold = row[0]
    expect(hold, "held")
    if uow.now >= hold.confirm_by:
        # Past the legal deadline the hold has lapsed, whether or not the lapse job has run.
        raise HoldStateConflict("confirm_by has passed: the hold lapses and is not confirmed")
    if hold.case_reference is not None and hold.case_reference != data.case_reference:
        raise refuse("case_reference", f"the hold was requested for case {hold.case_reference}")
    hold.status = "confirmed"
    hold.case_reference = data.case_reference
    hold.confirmed_by = uow.actor.org_code
    hold.confirmed_at = uow.now
    await record_transition(uow, row, Action.CONFIRMED)
    return row


async def cancel_hold(uow: UnitOfWork, hold_id: str, if_match: str | None) -> HoldRow:
    """The requester withdraws its request before the holder answered."""
    actor = uow.actor
    row = await acting_on(uow, hold_id, lambda r: policy.may_cancel(actor, r[0]), if_match)
    expect(row[0], "requested")
    row[0].status = "cancelled"
    await record_transition(uow, row, Action.CANCELLED)
    return row
