"""Seals over warnings: the chain covers warnings without the lookup taking its lock.

Warnings are written behind lookups (``app.warnings.writer``), many per second and outside
the chain. Every ``warning_seal_interval_seconds`` ``registry serve`` seals the warnings
written since the last seal (ordered by ``created_at``, ``id``, and at least
``warning_seal_lag_seconds`` old, so that no batch still committing lands in a sealed
range): one chained ``warning_seal`` event records the range, how many warnings it holds
and a SHA-256 digest over their canonical content. Verification recomputes every seal from
the table, so editing, deleting or inserting a sealed warning is found; a warning written
since the last seal is reported as not yet sealed. Outcomes are chained events of their
own (``app.warnings.service.record_outcome``).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.chain import format_timestamp
from app.audit.schemas import StateMismatch
from app.audit.vocabulary import Action, Change, EntityType
from app.auth.actor import Actor
from app.db.engine import Database
from app.db.periodic import every
from app.db.unit_of_work import unit_of_work
from app.models import ChangeEvent, Warning

_BATCH = 2000
# At most this many warnings per seal: the seal holds the chain's lock while it reads them.
SEAL_MAX = 20_000

_COLUMNS = (
    Warning.id,
    Warning.organisation_id,
    Warning.subject_key,
    Warning.risk_level,
    Warning.action,
    Warning.registry_version,
    Warning.created_at,
)
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Position:
    """A place in the (created_at, id) order of warnings."""

    created_at: datetime
    id: str

    def state(self) -> dict[str, str]:
        return {"created_at": format_timestamp(self.created_at), "id": self.id}

    @classmethod
    def of(cls, state: dict[str, Any] | None) -> Position | None:
        if not state:
            return None
        return cls(datetime.fromisoformat(state["created_at"]), str(state["id"]))


def canonical_warning(row: Sequence[Any]) -> bytes:
    """One warning's sealed content, canonical: what a digest is taken over."""
    warning_id, org, key, risk, action, version, created = row
    body = {
        "id": warning_id,
        "organisation_id": org,
        "subject_key": key,
        "risk_level": risk,
        "action": action,
        "registry_version": version,
        "created_at": format_timestamp(created),
    }
    return _ENCODER.encode(body).encode() + b"\n"


def _after(position: Position | None) -> ColumnElement[bool] | None:
    if position is None:
        return None
    return or_(
        Warning.created_at > position.created_at,
        and_(Warning.created_at == position.created_at, Warning.id > position.id),
    )


def _through(position: Position) -> ColumnElement[bool]:
    return or_(
        Warning.created_at < position.created_at,
        and_(Warning.created_at == position.created_at, Warning.id <= position.id),
    )


async def _digest(
    session: AsyncSession,
    after: Position | None,
    *,
    through: Position | None = None,
    before: datetime | None = None,
    limit: int | None = None,
) -> tuple[int, str, Position | None]:
    """(count, digest, last position) of the warnings after ``after``, in order, up to
    ``through`` (inclusive) or created before ``before``, at most ``limit`` of them."""
    digest = hashlib.sha256()
    count, last, cursor = 0, None, after
    while limit is None or count < limit:
        size = _BATCH if limit is None else min(_BATCH, limit - count)
        stmt = select(*_COLUMNS).order_by(Warning.created_at, Warning.id).limit(size)
        for condition in (
            _after(cursor),
            None if through is None else _through(through),
            None if before is None else Warning.created_at < before,
        ):
            if condition is not None:
                stmt = stmt.where(condition)
        rows = (await session.execute(stmt)).all()
        for row in rows:
            digest.update(canonical_warning(tuple(row)))
        count += len(rows)
        if rows:
            last = cursor = Position(rows[-1][6], rows[-1][0])
        if len(rows) < size:
            break
    return count, digest.hexdigest(), last


async def _last_seal(session: AsyncSession) -> tuple[int, dict[str, Any]] | None:
    stmt = (
        select(ChangeEvent.seq, ChangeEvent.state)
        .where(ChangeEvent.entity_type == EntityType.WARNING_SEAL)
        .order_by(ChangeEvent.seq.desc())
        .limit(1)
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else (row[0], row[1])


async def seal_warnings(
    db: Database, actor: Actor | None = None, *, lag_seconds: float = 0.0
) -> int:
    """Seal every warning older than ``lag_seconds`` not sealed yet (one chained event per
    ``SEAL_MAX`` of them); returns how many were sealed."""
    total = 0
    while True:
        async with unit_of_work(db, actor or Actor.command_line("seal")) as uow:
            last = await _last_seal(uow.session)
            number = 1 if last is None else int(last[1]["number"]) + 1
            after = None if last is None else Position.of(last[1]["through"])
            before = uow.now - timedelta(seconds=lag_seconds)
            count, digest, through = await _digest(
                uow.session, after, before=before, limit=SEAL_MAX
            )
            if count == 0 or through is None:
                return total
            await uow.record(
                Change(
                    entity_type=EntityType.WARNING_SEAL,
                    entity_id=str(number),
                    entity_version=1,
                    action=Action.SEALED,
                    state={
                        "number": number,
                        "after": None if after is None else after.state(),
                        "through": through.state(),
                        "count": count,
                        "digest": digest,
                    },
                )
            )
        total += count
        if count < SEAL_MAX:
            return total


async def verify_seals(session: AsyncSession) -> tuple[StateMismatch | None, int]:
    """The first seal its warnings no longer match (or None), and how many warnings are
    not sealed yet."""
    previous: Position | None = None
    seq = 0
    while True:
        stmt = (
            select(ChangeEvent.seq, ChangeEvent.entity_id, ChangeEvent.state)
            .where(ChangeEvent.entity_type == EntityType.WARNING_SEAL, ChangeEvent.seq > seq)
            .order_by(ChangeEvent.seq)
            .limit(_BATCH)
        )
        seals = (await session.execute(stmt)).all()
        for seq, entity_id, state in seals:
            after = Position.of(state.get("after"))
            through = Position.of(state.get("through"))
            reason: str | None = None
            if after != previous or through is None:
                reason = "seal does not continue the previous seal's range"
            else:
                count, digest, _ = await _digest(session, after, through=through)
                if (count, digest) != (state.get("count"), state.get("digest")):
                    reason = (
                        f"sealed warnings changed: {count} now, {state.get('count')} sealed,"
                        " or their content differs"
                    )
            if reason is not None:
                return StateMismatch(
                    entity_type=EntityType.WARNING_SEAL, entity_id=entity_id, seq=seq, reason=reason
                ), 0
            previous = through
        if len(seals) < _BATCH:
            break
    unsealed = select(func.count()).select_from(Warning)
    condition = _after(previous)
    if condition is not None:
        unsealed = unsealed.where(condition)
    return None, int((await session.execute(unsealed)).scalar_one())


async def run_sealing(db: Database, interval: float, lag_seconds: float) -> None:
    """The loop inside ``registry serve``."""
    await every(
        interval,
        lambda: seal_warnings(db, lag_seconds=lag_seconds),
        name="warning sealing",
        done="sealed %d warnings",
    )


async def _seal_once() -> int:
    from app.config import get_settings
    from app.db.ready import migrated_database

    settings = get_settings()
    async with migrated_database(settings) as db:
        return await seal_warnings(db, lag_seconds=settings.warning_seal_lag_seconds)


if __name__ == "__main__":  # ``python -m app.warnings.seal``: one pass, for cron
    print(json.dumps({"sealed": asyncio.run(_seal_once())}))
