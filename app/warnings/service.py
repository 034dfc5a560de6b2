"""Recording warnings (warn/hold answers) and their outcomes."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.db.types import utcnow
from app.errors import Conflict, NotFound
from app.models import Warning
from app.runtime import Runtime
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
    session: AsyncSession, actor: Actor, warning_id: str, data: WarningOutcome
) -> WarningRead:
    """Only the organisation that received the warning may say what happened, once."""
    warning = await session.get(Warning, warning_id, with_for_update=True)
    if warning is None or warning.organisation_id != actor.org_id:
        raise WarningNotFound(f"no warning {warning_id}")
    if warning.outcome is not None:
        if (warning.outcome, warning.amount_vnd) == (data.outcome, data.amount_vnd):
            return warning_read(warning)  # a retry of the same report
        raise OutcomeAlreadyRecorded(f"outcome already {warning.outcome}")
    warning.outcome = data.outcome
    warning.amount_vnd = data.amount_vnd
    warning.outcome_at = utcnow()
    await session.flush()
    return warning_read(warning)


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
