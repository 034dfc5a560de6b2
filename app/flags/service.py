"""The flag lifecycle (SPEC §4): report, confirm, reject, withdraw, expire, clear."""

from __future__ import annotations

import unicodedata
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.repository import EventWriter
from app.auth.actor import Actor
from app.auth.scopes import OrgKind, Scope
from app.errors import Conflict, InvalidInput, NotFound
from app.flags.repository import FlagRepository, FlagRow
from app.flags.schemas import FlagCreate, FlagRead, FlagSubject
from app.models import Flag, Organisation, Subject
from app.preconditions import check_if_match
from app.reference.catalogue import typology_codes
from app.subjects.repository import SubjectRepository
from app.subjects.service import identify, rederive


class FlagNotFound(NotFound):
    title = "Flag not found"


class InvalidTransition(Conflict):
    type_slug = "invalid-transition"
    title = "The flag cannot make that change from its current status"


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
        status=flag.status,
        category=flag.category,
        description=flag.description,
        amount_lost_vnd=flag.amount_lost_vnd,
        case_reference=flag.case_reference,
        holder_name=flag.holder_name,
        version=flag.version,
        created_at=flag.created_at,
        updated_at=flag.updated_at,
        expires_at=flag.expires_at,
    )


def _flag_state(row: FlagRow) -> dict[str, Any]:
    return flag_read(*row).model_dump(mode="json")


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
    session: AsyncSession,
    actor: Actor,
    data: FlagCreate,
    *,
    ttl_days: float,
    import_fingerprint: str | None = None,
) -> FlagRow:
    """Record a report; police reports start ``confirmed``, others expire after the TTL."""
    identifier = identify(data.subject, ("body", "subject"))
    check_flag_fields(actor, data)
    events = await EventWriter.begin(session, actor)
    assert actor.org_id is not None
    subjects = SubjectRepository(session)
    subject = await subjects.get_or_create(identifier)
    police = actor.org_kind == OrgKind.POLICE
    now = events.now
    flag = Flag(
        id=str(uuid.uuid4()),
        subject_id=subject.id,
        organisation_id=actor.org_id,
        status="confirmed" if police else "reported",
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
    session.add(flag)
    await session.flush()
    org = await session.get(Organisation, actor.org_id)
    assert org is not None
    row = (flag, subject, org)
    await events.append(
        entity_type="flag",
        entity_id=flag.id,
        entity_version=1,
        action=flag.status,
        state=_flag_state(row),
        subject_key=subject.key,
    )
    await rederive(events, subject, await subjects.flags_of(subject.id))
    return row


def visible(actor: Actor, flag: Flag) -> bool:
    return Scope.HISTORY_READ in actor.scopes or flag.organisation_id == actor.org_id


async def get_flag(session: AsyncSession, actor: Actor, flag_id: str) -> FlagRow:
    """A flag the caller may see; another organisation's flag is a plain 404."""
    row = await FlagRepository(session).get(flag_id)
    if row is None or not visible(actor, row[0]):
        raise FlagNotFound(f"no flag {flag_id}")
    return row


TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "confirm": (frozenset({"reported"}), "confirmed"),
    "reject": (frozenset({"reported"}), "rejected"),
    "withdraw": (frozenset({"reported", "confirmed"}), "withdrawn"),
    "expire": (frozenset({"reported"}), "expired"),
    "clear": (frozenset({"reported", "confirmed"}), "cleared"),
}


async def transition_flag(
    session: AsyncSession,
    actor: Actor,
    flag_id: str,
    action: str,
    if_match: str | None,
    *,
    own_only: bool = False,
) -> FlagRow:
    """Confirm, reject or withdraw a flag under ``If-Match``; the subject's answer follows."""
    events = await EventWriter.begin(session, actor)
    row = await FlagRepository(session).get(flag_id)
    if row is None or (own_only and row[0].organisation_id != actor.org_id):
        raise FlagNotFound(f"no flag {flag_id}")
    check_if_match(if_match, row[0].version)
    await apply_transition(events, row, action)
    return row


async def apply_transition(
    events: EventWriter, row: FlagRow, action: str, *, then_rederive: bool = True
) -> None:
    """Move a flag to its next status and write its event; the caller holds the head lock."""
    flag, subject, _ = row
    allowed_from, target = TRANSITIONS[action]
    if flag.status not in allowed_from:
        raise InvalidTransition(f"cannot {action} a {flag.status} flag")
    flag.status = target
    flag.version += 1
    flag.updated_at = events.now
    flag.expires_at = None
    await events.session.flush()
    await events.append(
        entity_type="flag",
        entity_id=flag.id,
        entity_version=flag.version,
        action=target,
        state=_flag_state(row),
        subject_key=subject.key,
    )
    if then_rederive:
        flags = await SubjectRepository(events.session).flags_of(subject.id)
        await rederive(events, subject, flags)


async def expire_flags(session: AsyncSession, actor: Actor, now: datetime, limit: int = 500) -> int:
    """Expire ``reported`` flags past their TTL; returns how many were expired."""
    events = await EventWriter.begin(session, actor)
    repo = FlagRepository(session)
    due = await repo.due_to_expire(now, limit)
    for flag in due:
        row = await repo.get(flag.id)
        assert row is not None
        await apply_transition(events, row, "expire")
    return len(due)
