"""Recording warnings (warn/hold answers) and their outcomes."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from typing import Protocol

from app.audit.vocabulary import Action, Change, EntityType
from app.auth.actor import Actor
from app.db.types import utcnow
from app.db.unit_of_work import UnitOfWork
from app.errors import Conflict, InvalidInput, NotFound
from app.models import Warning
from app.runtime import Runtime
from app.warnings.policy import may_record_outcome
from app.warnings.schemas import WarningOutcome, WarningRead

log = logging.getLogger(__name__)


class WarnedAnswer(Protocol):
    """What recording a warning reads of an answer, and fills in (``LookupResult`` is one)."""

    @property
    def key(self) -> str: ...
    @property
    def risk_level(self) -> int: ...
    @property
    def action(self) -> str: ...
    @property
    def registry_version(self) -> int: ...

    warning_id: str | None


class WarningNotFound(NotFound):
    title = "Warning not found"


class OutcomeAlreadyRecorded(Conflict):
    type_slug = "outcome-recorded"
    title = "An outcome was already recorded for this warning"


async def issue_warnings(runtime: Runtime, actor: Actor, answers: Sequence[WarnedAnswer]) -> None:
    """Give every warn/hold answer a ``warning_id``, committed before the answer is sent.

    If the warning cannot be stored the answer still goes out (the bank must still warn
    or hold) with ``warning_id`` null, and the failure is logged.
    """
    listed = [a for a in answers if a.action != "allow"]
    if not listed:
        return
    assert actor.org_id is not None
    now = utcnow()
    rows = []
    for answer in listed:
        answer.warning_id = str(uuid.uuid4())
        rows.append(
            {
                "id": answer.warning_id,
                "organisation_id": actor.org_id,
                "subject_key": answer.key,
                "risk_level": answer.risk_level,
                "action": answer.action,
                "registry_version": answer.registry_version,
                "created_at": now,
            }
        )
    try:
        # Bounded: a payment must not hang on a database that stopped answering. A batch
        # that commits after the deadline still counts as warnings issued.
        # (asyncio.timeout, not wait_for: wait_for would start a task, one more loop turn.)
        async with asyncio.timeout(runtime.settings.warning_commit_timeout_seconds):
            await runtime.warnings.write(rows)
    except Exception:
        log.error(
            "could not store %d warnings in time; answering without warning_id",
            len(rows),
            exc_info=True,
        )
        for answer in listed:
            answer.warning_id = None


def warning_read(warning: Warning) -> WarningRead:
    return WarningRead(
        id=warning.id,
        subject_key=warning.subject_key,
        action=warning.action,
        created_at=warning.created_at,
        outcome=warning.outcome,
        amount_vnd=warning.amount_vnd,
        outcome_at=warning.outcome_at,
    )


async def record_outcome(
    uow: UnitOfWork, warning_id: str, data: WarningOutcome, *, max_amount_vnd: int
) -> WarningRead:
    """Only the organisation that received the warning may say what happened, once; the
    outcome is a chained change event, so the figures it feeds can be audited."""
    if data.amount_vnd > max_amount_vnd:
        message = f"at most {max_amount_vnd} VND"
        raise InvalidInput(
            f"amount_vnd is {message}",
            errors=[{"loc": ["body", "amount_vnd"], "msg": message, "type": "value_error"}],
        )
    warning = await uow.session.get(Warning, warning_id)
    if warning is None or not may_record_outcome(uow.actor, warning):
        raise WarningNotFound(f"no warning {warning_id}")
    if warning.outcome is not None:
        if (warning.outcome, warning.amount_vnd) == (data.outcome, data.amount_vnd):
            return warning_read(warning)  # a retry of the same report
        raise OutcomeAlreadyRecorded(f"outcome already {warning.outcome}")
    warning.outcome = data.outcome
    warning.amount_vnd = data.amount_vnd
    warning.outcome_at = uow.now
    await uow.session.flush()
    read = warning_read(warning)
    await uow.record(
        Change(
            entity_type=EntityType.WARNING,
            entity_id=warning.id,
            entity_version=1,
            action=Action.OUTCOME_RECORDED,
            state=read.model_dump(mode="json"),
            subject_key=warning.subject_key,
        )
    )
    return read


async def record_lookups(
    runtime: Runtime,
    actor: Actor,
    answers: Sequence[WarnedAnswer],
    total: int | None = None,
) -> None:
    """Count every answer (in memory) and store a warning for each warn/hold answer.

    ``total`` counts answers not passed as objects too (a batch's plain "allow" answers).
    """
    assert actor.org_id is not None
    warned = sum(1 for a in answers if a.action != "allow")
    runtime.counter.count(actor.org_id, warned, len(answers) if total is None else total)
    if warned:
        await issue_warnings(runtime, actor, answers)
