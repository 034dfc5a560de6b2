"""Identifying subjects, deriving their risk, answering lookups, reading their past."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.vocabulary import Action, Change, EntityType
from app.auth.actor import Actor
from app.db.unit_of_work import UnitOfWork
from app.errors import InvalidInput, NotFound
from app.identifiers.normalise import InvalidIdentifier, normalise_subject, parse_key
from app.identifiers.normalise import Subject as Identifier
from app.models import ChangeEvent, Subject
from app.runtime import Runtime
from app.subjects.answer import lookup_answer
from app.subjects.repository import SubjectEventRepository, SubjectRepository
from app.subjects.risk import ACTIONS, RISK_NAMES, FlagFacts, derive_risk
from app.subjects.schemas import SubjectIn, SubjectRecord
from app.sync.mirror import subject_index_state
from app.text import safe_loc
from app.warnings.service import record_lookups
from app.webhooks.outbox import notify_answer_changed


class SubjectNotFound(NotFound):
    title = "Subject not found"


def identify(subject: SubjectIn, loc: Sequence[str | int] = ("body",)) -> Identifier:
    """Normalise a subject (SPEC §3) or raise a 422 that names the offending field."""
    try:
        return normalise_subject(subject.kind, subject.institution, subject.identifier)
    except InvalidIdentifier as exc:
        raise InvalidInput(
            exc.reason,
            errors=[{"loc": [*loc, exc.field], "msg": exc.reason, "type": "value_error"}],
        ) from None


def canonical_key(key: str) -> str:
    """A subject key from a URL path; it must already be canonical, else a 422."""
    return canonical_subject(key).key


def canonical_subject(key: str) -> Identifier:
    """The subject of a canonical key from a URL path, else a 422."""
    try:
        return parse_key(key)
    except InvalidIdentifier as exc:
        raise InvalidInput(
            exc.reason, errors=[{"loc": ["path", "key"], "msg": exc.reason, "type": "value_error"}]
        ) from None


def identify_raw(item: Any, loc: Sequence[str | int]) -> Identifier:
    """Validate and normalise an untyped subject (batch items are checked one by one)."""
    try:
        subject = SubjectIn.model_validate(item)
    except ValidationError as exc:
        # An unknown key is named in loc; it may be what cannot be written as JSON.
        errors = [
            {"loc": [*loc, *safe_loc(e["loc"])], "msg": e["msg"], "type": e["type"]}
            for e in exc.errors()
        ]
        raise InvalidInput("subject is not valid", errors=errors) from None
    return identify(subject, loc)


async def answer_one(runtime: Runtime, actor: Actor, key: str) -> dict[str, Any]:
    """One subject's lookup answer from the in-memory mirror (no database round-trip but
    the warning's commit), counted, with a warning for a warn/hold answer."""
    mirror = runtime.mirror
    seq = mirror.seq  # read before the warning's await, as the batch does
    listing = mirror.listing(key)
    warning_ids = await record_lookups(
        runtime, actor, {key: listing.risk_level}, total=1, registry_version=seq
    )
    # Every door (fast path, route, VietQR) answers through here: counted exactly once.
    runtime.lookup_metrics.one(listing.risk_level)
    return lookup_answer(key, listing, seq, warning_ids.get(key))


def subject_state(subject: Subject) -> dict[str, Any]:
    return {
        **subject_index_state(subject),
        "kind": subject.kind,
        "institution": subject.institution,
        "identifier": subject.identifier,
    }


async def rederive(uow: UnitOfWork, subject: Subject) -> None:
    """Recompute the subject's answer in the same transaction as the change behind it.

    Always from the stored facts (its flags, whether a dispute is open), never from what
    the caller believes changed, so ``under_dispute`` is true exactly while a dispute is
    open. Writes a ``subject`` change event (the change feed) only when the answer changed,
    and with it the event's notifications (``listing.changed``, ``customer.listed``).
    """
    repo = SubjectRepository(uow.session)
    flags = await repo.flags_of(subject.id)
    risk = derive_risk(FlagFacts(f.status, f.organisation_id, f.category) for f in flags)
    dispute = await repo.has_open_dispute(subject.id)
    first = min((f.created_at for f in flags), default=None)
    changed = (
        risk.level != subject.risk_level
        or list(risk.categories) != subject.categories
        or dispute != subject.under_dispute
    )
    if subject.first_flagged_at is None and first is not None:
        subject.first_flagged_at = first
    if not changed:
        return
    previous_level = subject.risk_level
    subject.risk_level = risk.level
    subject.categories = list(risk.categories)
    subject.under_dispute = dispute
    subject.last_changed_at = uow.now
    subject.version += 1
    state = subject_state(subject)
    await uow.record(
        Change(
            entity_type=EntityType.SUBJECT,
            entity_id=subject.key,
            entity_version=subject.version,
            action=Action.ANSWER_CHANGED,
            state=state,
            subject_key=subject.key,
        )
    )
    # Its messages (SPEC §11), in the same transaction as the change they report.
    await notify_answer_changed(uow, state, previous_level)


async def subject_record(
    session: AsyncSession,
    key: str,
    *,
    version: int | None = None,
    as_of: datetime | None = None,
    head: int,
) -> SubjectRecord:
    """The record as it stood at a registry version (default: now), rebuilt from events."""
    repo = SubjectEventRepository(session)
    if as_of is not None:
        version = await repo.version_at(as_of)
    at = head if version is None else min(version, head)
    events = await repo.up_to(key, at)
    if not events:
        raise SubjectNotFound(f"no subject {key} at registry version {at}")
    return fold_record(key, events, at)


def fold_record(key: str, events: Sequence[ChangeEvent], version: int) -> SubjectRecord:
    subject: dict[str, Any] = {}
    flags: dict[str, dict[str, Any]] = {}
    disputes: dict[str, dict[str, Any]] = {}
    holds: dict[str, dict[str, Any]] = {}
    recovery = {"frozen_vnd": 0, "released_vnd": 0, "returned_vnd": 0, "held_vnd": 0}
    for event in events:
        if event.entity_type == EntityType.SUBJECT:
            subject = event.state
        elif event.entity_type == EntityType.FLAG:
            flags[event.entity_id] = event.state
        elif event.entity_type == EntityType.DISPUTE:
            disputes[event.entity_id] = event.state
        elif event.entity_type == EntityType.HOLD:
            holds[event.entity_id] = event.state
        elif event.entity_type == EntityType.RECOVERY:
            recovery = event.state.get("totals", recovery)
    kind, institution, identifier = _split_key(key)
    level = int(subject.get("risk_level", 0))
    return SubjectRecord(
        key=key,
        kind=kind,
        institution=institution,
        identifier=identifier,
        listed=level > 0,
        risk_level=level,
        risk=RISK_NAMES[level],
        action=ACTIONS[level],
        categories=list(subject.get("categories", [])),
        under_dispute=bool(subject.get("under_dispute", False)),
        first_flagged_at=subject.get("first_flagged_at"),
        last_changed_at=subject.get("last_changed_at"),
        registry_version=version,
        flags=list(flags.values()),
        disputes=list(disputes.values()),
        holds=list(holds.values()),
        recovery=recovery,
    )


def _split_key(key: str) -> tuple[str, str | None, str]:
    kind, institution, identifier = key.split(":", 2)
    return kind, institution or None, identifier
