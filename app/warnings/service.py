"""Recording warnings (warn/hold answers) and their outcomes."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from types import MappingProxyType

from app.audit.vocabulary import Action, Change, EntityType
from app.auth.actor import Actor
from app.db.types import utcnow
from app.db.unit_of_work import UnitOfWork
from app.errors import Conflict, InvalidInput, NotFound
from app.models import Warning
from app.runtime import Runtime
from app.subjects.risk import ACTIONS
from app.warnings.policy import may_record_outcome, receives_warnings
from app.warnings.schemas import WarningOutcome, WarningRead

log = logging.getLogger(__name__)

_NO_WARNINGS: Mapping[str, str] = MappingProxyType({})


class WarningNotFound(NotFound):
    title = "Warning not found"


class OutcomeAlreadyRecorded(Conflict):
    type_slug = "outcome-recorded"
    title = "An outcome was already recorded for this warning"
    description = (
        "This warning already has a different outcome. An outcome is recorded once; sending "
        "exactly the same outcome and amount again answers the recorded one."
    )
    remedy = "Do not retry. If the recorded outcome is wrong, report it to the operator."


async def issue_warnings(
    runtime: Runtime, actor: Actor, levels: Mapping[str, int], registry_version: int
) -> Mapping[str, str]:
    """One warning per subject in ``levels`` (key -> a warn/hold risk level), committed
    before the answer is sent; returns key -> ``warning_id``.

    If the warnings cannot be stored the answers still go out (the bank must still warn
    or hold) with ``warning_id`` null, and the failure is logged.
    """
    assert actor.org_id is not None
    now = utcnow()
    ids = {key: str(uuid.uuid4()) for key in levels}
    rows = [
        {
            "id": warning_id,
            "organisation_id": actor.org_id,
            "subject_key": key,
            "risk_level": levels[key],
            "action": ACTIONS[levels[key]],
            "registry_version": registry_version,
            "created_at": now,
        }
        for key, warning_id in ids.items()
    ]
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
        return _NO_WARNINGS
    return ids


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
    found: Mapping[str, int],
    *,
    total: int,
    registry_version: int,
) -> Mapping[str, str]:
    """Count ``total`` answers (in memory) and warn once per warn/hold subject of ``found``.

    ``found`` maps the keys of the answered subjects that are in the index to their risk
    level; a key named several times in one request is one entry, so one warning. Only
    organisations that receive warnings get them (``policy.receives_warnings``); the
    counter's ``warned`` is the number of warnings issued. Returns key -> ``warning_id``.
    """
    assert actor.org_id is not None
    # The level test first: most answers are "allow", and they need no policy check.
    warned = {key: level for key, level in found.items() if ACTIONS[level] != "allow"}
    if warned and not receives_warnings(actor):
        warned = {}
    runtime.counter.count(actor.org_id, len(warned), total)
    if not warned:
        return _NO_WARNINGS
    return await issue_warnings(runtime, actor, warned, registry_version)
