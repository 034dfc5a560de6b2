"""Verifying the hash chain straight from the database.

Each event must carry the next ``seq`` (no gap, no duplicate, no reordering), link to the
previous event's hash, and hash to what it stores; the head row must name the last event
(a truncated tail leaves the head pointing past the end). The first ``seq`` where any of
that fails is reported. A consistent rewrite of the whole chain passes these checks by
construction, which is what signed checkpoints (``app.audit.checkpoint``) are for.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.chain import chain_hash
from app.audit.schemas import VerifyResult
from app.models import ChangeEvent, RegistryHead
from app.models.registry_head import GENESIS_HASH

_BATCH = 2000


def _fields(event: ChangeEvent) -> dict[str, object]:
    return {
        "seq": event.seq,
        "occurred_at": event.occurred_at,
        "entity_type": event.entity_type,
        "entity_id": event.entity_id,
        "entity_version": event.entity_version,
        "action": event.action,
        "actor_org": event.actor_org,
        "actor_client": event.actor_client,
        "token_jti": event.token_jti,
        "request_id": event.request_id,
        "subject_key": event.subject_key,
        "state": event.state,
    }


def _check(event: ChangeEvent, expected_seq: int, prev_hash: str) -> str | None:
    if event.seq != expected_seq:
        return f"expected seq {expected_seq}, found {event.seq}"
    if event.prev_hash != prev_hash:
        return "prev_hash does not link to the previous event"
    if event.hash != chain_hash(prev_hash, _fields(event)):
        return "hash does not match the event's content"
    return None


async def verify_chain(session: AsyncSession, *, up_to: int | None = None) -> VerifyResult:
    """Walk the chain in ``seq`` order (in batches, so memory stays flat); then, unless
    verifying only up to a checkpoint's ``seq``, check every state table against it
    (``app.audit.state``) and every warning seal (``app.warnings.seal``)."""
    await _snapshot(session)
    result = await _verify_links(session, up_to=up_to)
    if up_to is not None:
        return result
    # Imported here: the state functions live with their services, which import the chain.
    from app.audit.state import verify_state
    from app.warnings.seal import verify_seals

    mismatch = await verify_state(session)
    unsealed = 0
    if mismatch is None:
        mismatch, unsealed = await verify_seals(session)
    result.unsealed_warnings = unsealed
    if mismatch is not None:
        result.state_ok = False
        result.first_state_mismatch = mismatch
        result.ok = False
        if result.reason is None:
            result.reason = f"{mismatch.entity_type} {mismatch.entity_id}: {mismatch.reason}"
    return result


async def _snapshot(session: AsyncSession) -> None:
    """Read the head, the chain and the state from one snapshot.

    Under PostgreSQL's default READ COMMITTED each statement sees the latest commit, so a
    write landing between reading the head and reading the chain looked like a chain longer
    than its head: a false alarm that stopped a healthy server. SQLite's read transaction
    is a snapshot from its first read already. Only when this call opens the connection:
    an isolation level cannot change inside a transaction."""
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        await session.connection(
            execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        )


async def _verify_links(session: AsyncSession, *, up_to: int | None) -> VerifyResult:
    head = (await session.execute(select(RegistryHead))).scalar_one()
    limit = head.seq if up_to is None else min(up_to, head.seq)
    prev_hash, expected, checked = GENESIS_HASH, 1, 0
    while True:
        stmt = (
            select(ChangeEvent)
            .where(ChangeEvent.seq >= expected)
            .order_by(ChangeEvent.seq)
            .limit(_BATCH)
        )
        events = (await session.execute(stmt)).scalars().all()
        session.expunge_all()
        for event in events:
            if event.seq > limit and up_to is not None:
                return _result(True, checked, head, None, None)
            reason = _check(event, expected, prev_hash)
            if reason is not None:
                return _result(False, checked, head, min(expected, event.seq), reason)
            prev_hash, expected, checked = event.hash, expected + 1, checked + 1
        if len(events) < _BATCH:
            break
    if up_to is None and (checked != head.seq or prev_hash != head.hash):
        return _result(
            False,
            checked,
            head,
            checked + 1,
            f"registry head names seq {head.seq}, the chain ends at {checked}",
        )
    return _result(True, checked, head, None, None)


def _result(
    ok: bool, checked: int, head: RegistryHead, bad: int | None, reason: str | None
) -> VerifyResult:
    return VerifyResult(
        ok=ok,
        checked=checked,
        head_seq=head.seq,
        head_hash=head.hash,
        first_bad_seq=bad,
        reason=reason,
    )


async def hash_at(session: AsyncSession, seq: int) -> str | None:
    stmt = select(ChangeEvent.hash).where(ChangeEvent.seq == seq)
    return (await session.execute(stmt)).scalar_one_or_none()
