"""The flag lifecycle (SPEC §4, §8): report, confirm, reject, withdraw, expire, clear.

Who may do which is ``app.flags.policy``; this module carries it out inside a unit of work.
"""

from __future__ import annotations

import unicodedata
import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.vocabulary import Action, Change, EntityType
from app.auth.actor import Actor
from app.auth.scopes import OrgKind
from app.db.unit_of_work import UnitOfWork
from app.errors import Conflict, InvalidInput, NotFound
from app.flags import policy
from app.flags.policy import FlagAction
from app.flags.repository import FlagRepository, FlagRow
from app.flags.schemas import FlagCreate, FlagRead, FlagStatus, FlagSubject
from app.models import Flag, Organisation, Subject
from app.preconditions import check_if_match
from app.reference.catalogue import typology_codes
from app.subjects.repository import SubjectRepository
from app.subjects.service import identify, rederive


class FlagNotFound(NotFound):
    title = "Flag not found"


class DuplicateFlag(Conflict):
    type_slug = "duplicate-flag"
    title = "Your organisation already holds an active flag on this subject"
    description = (
        "An organisation holds at most one active flag per subject; flag_id names the one it "
        "already holds. (A retry with the same Idempotency-Key answers the first result instead.)"
    )
    remedy = "Use or update the existing flag named by flag_id rather than creating another."

    def __init__(self, flag_id: str) -> None:
        super().__init__(f"active flag {flag_id} already reports this subject")
        self.extra = {"flag_id": flag_id}


def fold_holder_name(name: str) -> str:
    """Upper case without diacritics: ``Nguyễn Văn Đức`` becomes ``NGUYEN VAN DUC``."""
    name = name.replace("Đ", "D").replace("đ", "d")
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.upper().split())


def flag_read(flag: Flag, subject: Subject, org: Organisation) -> FlagRead:
    return FlagRead(
        id=flag.id,
        subject=FlagSubject(
            key=subject.key,
            kind=subject.kind,
            institution=subject.institution,
            identifier=subject.identifier,
        ),
        organisation=org.code,
        status=FlagStatus(flag.status),
        category=flag.category,
        description=flag.description,
        amount_lost_vnd=flag.amount_lost_vnd,
        case_reference=flag.case_reference,
        holder_name=flag.holder_name,
        reason=flag.reason,
        version=flag.version,
        created_at=flag.created_at,
        updated_at=flag.updated_at,
        expires_at=flag.expires_at,
    )


def _flag_change(row: FlagRow) -> Change:
    flag, subject, _ = row
    return Change(
        entity_type=EntityType.FLAG,
        entity_id=flag.id,
        entity_version=flag.version,
        action=Action(flag.status),
        state=flag_read(*row).model_dump(mode="json"),
        subject_key=subject.key,
    )


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(
        message, errors=[{"loc": ["body", field], "msg": message, "type": "value_error"}]
    )


def check_flag_fields(actor: Actor, data: FlagCreate) -> None:
    if data.category not in typology_codes():
        raise _invalid("category", f"unknown category {data.category}; see GET /v1/typologies")
    if data.case_reference is not None and actor.org_kind != OrgKind.POLICE:
        raise _invalid("case_reference", "only police may set case_reference")


async def create_flag(
    uow: UnitOfWork, data: FlagCreate, *, ttl_days: float, import_fingerprint: str | None = None
) -> FlagRow:
    """Record a report; police reports start ``confirmed``, others expire after the TTL."""
    actor = uow.actor
    identifier = identify(data.subject, ("body", "subject"))
    check_flag_fields(actor, data)
    assert actor.org_id is not None
    subjects = SubjectRepository(uow.session)
    subject = await subjects.get_or_create(identifier)
    existing = await FlagRepository(uow.session).active_of(subject.id, actor.org_id)
    if existing is not None:
        raise DuplicateFlag(existing.id)
    police = actor.org_kind == OrgKind.POLICE
    now = uow.now
    flag = Flag(
        id=str(uuid.uuid4()),
        subject_id=subject.id,
        organisation_id=actor.org_id,
        status=FlagStatus.CONFIRMED if police else FlagStatus.REPORTED,
        category=data.category,
        description=data.description,
        amount_lost_vnd=data.amount_lost_vnd,
        case_reference=data.case_reference,
        holder_name=fold_holder_name(data.holder_name) if data.holder_name else None,
        import_fingerprint=import_fingerprint,
        version=1,
        created_at=now,
        updated_at=now,
        expires_at=None if police else now + timedelta(days=ttl_days),
    )
    uow.session.add(flag)
    await uow.session.flush()
    org = await uow.session.get(Organisation, actor.org_id)
    assert org is not None
    row = (flag, subject, org)
    await uow.record(_flag_change(row))
    await rederive(uow, subject)
    return row


async def get_flag(session: AsyncSession, actor: Actor, flag_id: str) -> FlagRow:
    """A flag the caller may see; another organisation's flag is a plain 404."""
    row = await FlagRepository(session).get(flag_id)
    if row is None or not policy.may_see(actor, row[0]):
        raise FlagNotFound(f"no flag {flag_id}")
    return row


async def transition_flag(
    uow: UnitOfWork,
    flag_id: str,
    action: FlagAction,
    if_match: str | None,
    *,
    reason: str | None = None,
) -> FlagRow:
    """Confirm, reject or withdraw a flag under ``If-Match``; the subject's answer follows."""
    row = await FlagRepository(uow.session).get(flag_id)
    if row is None or not policy.may_act_on(uow.actor, row[0], action):
        raise FlagNotFound(f"no flag {flag_id}")
    check_if_match(if_match, row[0].version)
    await apply_transition(uow, row, action, reason=reason)
    return row


async def apply_transition(
    uow: UnitOfWork,
    row: FlagRow,
    action: FlagAction,
    *,
    reason: str | None = None,
    then_rederive: bool = True,
) -> None:
    """Move a flag to its next status and write its event, as ``policy`` allows."""
    flag, subject, _ = row
    flag.status = policy.check_transition(uow.actor, flag, action)
    flag.version += 1
    flag.updated_at = uow.now
    flag.expires_at = None
    if reason is not None:
        flag.reason = reason
    await uow.session.flush()
    await uow.record(_flag_change(row))
    if then_rederive:
        await rederive(uow, subject)


async def expire_flags(uow: UnitOfWork, now: datetime, limit: int = 500) -> int:
    """Expire ``reported`` flags past their TTL; returns how many were expired."""
    repo = FlagRepository(uow.session)
    due = await repo.due_to_expire(now, limit)
    for flag in due:
        row = await repo.get(flag.id)
        assert row is not None
        await apply_transition(uow, row, FlagAction.EXPIRE)
    return len(due)
