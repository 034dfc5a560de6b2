"""State from history (SPEC §8): every row of every state table equals the state its latest
change event records.

For each state table two streaming passes, in batches ordered by the entity id (keyset, so
memory stays flat whatever the size):

1. the rows: each is rendered as the dict its service records (the services' own state
   functions), and compared with the ``state`` of the entity's latest event; a row with no
   event must be in the state a row has before its first event (a subject created by a
   recovery entry, a warning without an outcome), else it was inserted behind the chain;
2. the entities with events: each must still have its row (a deleted row is found here).

Warnings themselves (not their outcomes) are covered by seals (``app.warnings.seal``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.audit.schemas import StateMismatch
from app.audit.vocabulary import EntityType
from app.disputes.service import dispute_read
from app.flags.service import flag_read
from app.models import (
    ChangeEvent,
    Client,
    Dispute,
    Flag,
    Organisation,
    RecoveryEntry,
    Subject,
    Warning,
)
from app.organisations.service import client_state, organisation_state
from app.subjects.service import subject_state
from app.warnings.service import warning_read

_BATCH = 1000

State = dict[str, Any]
# A batch of rows after ``after`` (None: from the start): (entity id, rendered state).
RowReader = Callable[[AsyncSession, str | None, int], Awaitable[list[tuple[str, State | None]]]]

# The state a subject row holds before its first event (created by a recovery entry).
_NEW_SUBJECT = {
    "risk_level": 0,
    "categories": [],
    "under_dispute": False,
    "first_flagged_at": None,
    "last_changed_at": None,
}
# A recovery event's running totals follow from the entries before it, which are checked
# one by one; the row itself holds the rest.
_RECOVERY_TOTALS = ("totals", "case_totals")


def _render(build: Callable[..., State], *row: Any) -> State | None:
    """A row the service could not have written (e.g. an unknown status) renders as None."""
    try:
        return build(*row)
    except (ValueError, TypeError, KeyError):
        return None


def _flag_state(flag: Flag, subject: Subject, org: Organisation) -> State:
    return flag_read(flag, subject, org).model_dump(mode="json")


def _dispute_state(dispute: Dispute, subject: Subject, org: Organisation) -> State:
    return dispute_read(dispute, subject, org).model_dump(mode="json", exclude={"overdue"})


def _warning_state(warning: Warning) -> State:
    return warning_read(warning).model_dump(mode="json")


async def _subjects(
    session: AsyncSession, after: str | None, limit: int
) -> list[tuple[str, State | None]]:
    stmt = select(Subject).order_by(Subject.key).limit(limit)
    if after is not None:
        stmt = stmt.where(Subject.key > after)
    rows = (await session.execute(stmt)).scalars().all()
    out = [(s.key, _render(subject_state, s)) for s in rows]
    session.expunge_all()
    return out


async def _flags(
    session: AsyncSession, after: str | None, limit: int
) -> list[tuple[str, State | None]]:
    stmt = (
        select(Flag, Subject, Organisation)
        .join(Subject, Subject.id == Flag.subject_id)
        .join(Organisation, Organisation.id == Flag.organisation_id)
        .order_by(Flag.id)
        .limit(limit)
    )
    if after is not None:
        stmt = stmt.where(Flag.id > after)
    rows = (await session.execute(stmt)).all()
    out = [(f.id, _render(_flag_state, f, s, o)) for f, s, o in rows]
    session.expunge_all()
    return out


async def _disputes(
    session: AsyncSession, after: str | None, limit: int
) -> list[tuple[str, State | None]]:
    stmt = (
        select(Dispute, Subject, Organisation)
        .join(Subject, Subject.id == Dispute.subject_id)
        .join(Organisation, Organisation.id == Dispute.organisation_id)
        .order_by(Dispute.id)
        .limit(limit)
    )
    if after is not None:
        stmt = stmt.where(Dispute.id > after)
    rows = (await session.execute(stmt)).all()
    out = [(d.id, _render(_dispute_state, d, s, o)) for d, s, o in rows]
    session.expunge_all()
    return out


def _recovery_state(entry: RecoveryEntry, subject_key: str, org_code: str) -> State:
    """``RecoveryRead(...).model_dump(mode="json")`` without its running totals."""
    from app.recovery.schemas import RecoveryRead, RecoveryTotals

    read = RecoveryRead(
        id=entry.id,
        subject_key=subject_key,
        organisation=org_code,
        action=entry.action,  # validated by pydantic
        amount_vnd=entry.amount_vnd,
        case_reference=entry.case_reference,
        note=entry.note,
        created_at=entry.created_at,
        totals=RecoveryTotals(),
        case_totals=RecoveryTotals(),
    )
    return read.model_dump(mode="json", exclude=set(_RECOVERY_TOTALS))


async def _recoveries(
    session: AsyncSession, after: str | None, limit: int
) -> list[tuple[str, State | None]]:
    stmt = (
        select(RecoveryEntry, Subject.key, Organisation.code)
        .join(Subject, Subject.id == RecoveryEntry.subject_id)
        .join(Organisation, Organisation.id == RecoveryEntry.organisation_id)
        .order_by(RecoveryEntry.id)
        .limit(limit)
    )
    if after is not None:
        stmt = stmt.where(RecoveryEntry.id > after)
    rows = (await session.execute(stmt)).all()
    out = [(e.id, _render(_recovery_state, e, k, c)) for e, k, c in rows]
    session.expunge_all()
    return out


def _has_outcome() -> ColumnElement[bool]:
    return (
        Warning.outcome.is_not(None)
        | Warning.amount_vnd.is_not(None)
        | Warning.outcome_at.is_not(None)
    )


async def _warnings(
    session: AsyncSession, after: str | None, limit: int
) -> list[tuple[str, State | None]]:
    # Only warnings with an outcome have an event; the rest are covered by seals.
    stmt = select(Warning).where(_has_outcome()).order_by(Warning.id).limit(limit)
    if after is not None:
        stmt = stmt.where(Warning.id > after)
    rows = (await session.execute(stmt)).scalars().all()
    out = [(w.id, _render(_warning_state, w)) for w in rows]
    session.expunge_all()
    return out


async def _organisations(
    session: AsyncSession, after: str | None, limit: int
) -> list[tuple[str, State | None]]:
    stmt = select(Organisation).order_by(Organisation.code).limit(limit)
    if after is not None:
        stmt = stmt.where(Organisation.code > after)
    rows = (await session.execute(stmt)).scalars().all()
    out = [(o.code, _render(organisation_state, o)) for o in rows]
    session.expunge_all()
    return out


async def _clients(
    session: AsyncSession, after: str | None, limit: int
) -> list[tuple[str, State | None]]:
    stmt = (
        select(Client, Organisation.code)
        .join(Organisation, Organisation.id == Client.organisation_id)
        .order_by(Client.client_id)
        .limit(limit)
    )
    if after is not None:
        stmt = stmt.where(Client.client_id > after)
    rows = (await session.execute(stmt)).all()
    out = [(c.client_id, _render(client_state, c, o)) for c, o in rows]
    session.expunge_all()
    return out


def _subject_without_event(state: State) -> bool:
    return all(state.get(name) == value for name, value in _NEW_SUBJECT.items())


def _recovery_equal(row: State, event: State) -> bool:
    return row == {k: v for k, v in event.items() if k not in _RECOVERY_TOTALS}


@dataclass(frozen=True)
class StateTable:
    """One state table: its rows as states, which of its rows exist, and how to compare."""

    entity_type: EntityType
    rows: RowReader
    # The id column, and which rows are expected to have an event at all.
    id_column: InstrumentedAttribute[str]
    scope: Callable[[], ColumnElement[bool]] | None = None
    # A row without any event is fine when this says so (it is in its pre-event state).
    without_event: Callable[[State], bool] | None = None
    equal: Callable[[State, State], bool] | None = None


TABLES: tuple[StateTable, ...] = (
    StateTable(EntityType.SUBJECT, _subjects, Subject.key, without_event=_subject_without_event),
    StateTable(EntityType.FLAG, _flags, Flag.id),
    StateTable(EntityType.DISPUTE, _disputes, Dispute.id),
    StateTable(EntityType.RECOVERY, _recoveries, RecoveryEntry.id, equal=_recovery_equal),
    StateTable(EntityType.WARNING, _warnings, Warning.id, scope=_has_outcome),
    StateTable(EntityType.ORGANISATION, _organisations, Organisation.code),
    StateTable(EntityType.CLIENT, _clients, Client.client_id),
)


async def _latest(
    session: AsyncSession, entity_type: EntityType, ids: Sequence[str]
) -> dict[str, tuple[int, State]]:
    """entity id -> (seq, state) of its latest event, for the ids that have one."""
    if not ids:
        return {}
    latest = (
        select(func.max(ChangeEvent.seq))
        .where(ChangeEvent.entity_type == entity_type, ChangeEvent.entity_id.in_(ids))
        .group_by(ChangeEvent.entity_id)
    )
    stmt = select(ChangeEvent.entity_id, ChangeEvent.seq, ChangeEvent.state).where(
        ChangeEvent.seq.in_(latest)
    )
    return {eid: (seq, state) for eid, seq, state in (await session.execute(stmt)).all()}


async def _check_rows(session: AsyncSession, table: StateTable) -> StateMismatch | None:
    after: str | None = None
    while True:
        rows = await table.rows(session, after, _BATCH)
        if not rows:
            return None
        events = await _latest(session, table.entity_type, [eid for eid, _ in rows])
        for entity_id, state in rows:
            found = events.get(entity_id)
            if found is None:
                if state is not None and table.without_event and table.without_event(state):
                    continue
                return StateMismatch(
                    entity_type=table.entity_type,
                    entity_id=entity_id,
                    seq=None,
                    reason="row has no change event",
                )
            seq, recorded = found
            equal = table.equal or (lambda a, b: a == b)
            if state is None or not equal(state, recorded):
                return StateMismatch(
                    entity_type=table.entity_type,
                    entity_id=entity_id,
                    seq=seq,
                    reason="row differs from the state its latest change event records",
                )
        if len(rows) < _BATCH:
            return None
        after = rows[-1][0]


async def _check_entities(session: AsyncSession, table: StateTable) -> StateMismatch | None:
    after: str | None = None
    while True:
        stmt = (
            select(ChangeEvent.entity_id, func.max(ChangeEvent.seq))
            .where(ChangeEvent.entity_type == table.entity_type)
            .group_by(ChangeEvent.entity_id)
            .order_by(ChangeEvent.entity_id)
            .limit(_BATCH)
        )
        if after is not None:
            stmt = stmt.where(ChangeEvent.entity_id > after)
        entities = (await session.execute(stmt)).all()
        if not entities:
            return None
        column = table.id_column
        present = select(column).where(column.in_([eid for eid, _ in entities]))
        if table.scope is not None:
            present = present.where(table.scope())
        have = set((await session.execute(present)).scalars().all())
        for entity_id, seq in entities:
            if entity_id not in have:
                return StateMismatch(
                    entity_type=table.entity_type,
                    entity_id=entity_id,
                    seq=seq,
                    reason="the entity has change events but no row",
                )
        if len(entities) < _BATCH:
            return None
        after = entities[-1][0]


async def verify_state(session: AsyncSession) -> StateMismatch | None:
    """The first row (table by table, in id order) that disagrees with its history."""
    for table in TABLES:
        found = await _check_rows(session, table) or await _check_entities(session, table)
        if found is not None:
            return found
    return None
