"""State from history (SPEC §8): every row of every state table equals the state its latest
change event records.

For each state table (the portal's citizen reports and bulletins too) two streaming passes,
in batches ordered by the entity id (keyset, so memory stays flat whatever the size):

1. the rows (subjects, flags, disputes, recovery entries, holds, warnings' outcomes,
   organisations, clients, users): each is rendered as the dict its service records (the
   services' own state functions), and compared with the ``state`` of the entity's latest
   event; a row with no event must be in the state a row has before its first event (a
   subject created by a recovery entry, a warning without an outcome), else it was
   inserted behind the chain;
2. the entities with events: each must still have its row (a deleted row is found here).

Warnings themselves (not their outcomes) are covered by seals (``app.warnings.seal``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.audit.schemas import StateMismatch
from app.audit.vocabulary import EntityType
from app.disputes.service import dispute_read
from app.flags.service import flag_read
from app.holds.repository import joined as holds_joined
from app.holds.service import hold_state
from app.models import (
    Bulletin,
    ChangeEvent,
    CitizenReport,
    Client,
    Dispute,
    Flag,
    Hold,
    Organisation,
    RecoveryEntry,
    StaffUser,
    Subject,
    Warning,
    WebhookSubscription,
)
from app.organisations.service import client_state, organisation_state
from app.portal.service import bulletin_state, report_state
from app.subjects.service import subject_state
from app.users.service import user_state
from app.warnings.service import warning_read
from app.webhooks.service import subscription_state

_BATCH = 1000

State = dict[str, Any]
# One result row of a table's query, as (entity id, the state its service would record).
Render = Callable[[Any], tuple[str, State | None]]

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
_SECRET_DIGEST = "secret_digest"  # noqa: S105 (a field name, not a secret)


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


def _has_outcome() -> ColumnElement[bool]:
    return (
        Warning.outcome.is_not(None)
        | Warning.amount_vnd.is_not(None)
        | Warning.outcome_at.is_not(None)
    )


def _rendered(build: Callable[..., State], key: Callable[[Any], str]) -> Render:
    """A row of ``select(Model, *joined)`` as (its id, the state ``build`` renders)."""
    return lambda row: (key(row[0]), _render(build, *row))


def _subject_without_event(state: State) -> bool:
    return all(state.get(name) == value for name, value in _NEW_SUBJECT.items())


def _recovery_equal(row: State, event: State) -> bool:
    return row == {k: v for k, v in event.items() if k not in _RECOVERY_TOTALS}


def _client_equal(row: State, event: State) -> bool:
    """Events written before clients' states carried ``secret_digest`` say nothing of the
    secret; the rest must match. A client's next change records the digest."""
    if _SECRET_DIGEST not in event:
        row = {k: v for k, v in row.items() if k != _SECRET_DIGEST}
    return row == event


@dataclass(frozen=True)
class StateTable:
    """One state table: its rows as states, which of its rows exist, and how to compare."""

    entity_type: EntityType
    # The rows with what their state is rendered from (joined), ordered by ``id_column``.
    query: Callable[[], Select[*tuple[Any, ...]]]
    render: Render
    id_column: InstrumentedAttribute[str]
    # Which rows are expected to have an event at all.
    scope: Callable[[], ColumnElement[bool]] | None = None
    # A row without any event is fine when this says so (it is in its pre-event state).
    without_event: Callable[[State], bool] | None = None
    equal: Callable[[State, State], bool] | None = None


def _with_subject_and_org(model: Any) -> Select[*tuple[Any, ...]]:
    return (
        select(model, Subject, Organisation)
        .join(Subject, Subject.id == model.subject_id)
        .join(Organisation, Organisation.id == model.organisation_id)
    )


TABLES: tuple[StateTable, ...] = (
    StateTable(
        EntityType.SUBJECT,
        lambda: select(Subject),
        _rendered(subject_state, lambda s: s.key),
        Subject.key,
        without_event=_subject_without_event,
    ),
    StateTable(
        EntityType.FLAG,
        lambda: _with_subject_and_org(Flag),
        _rendered(_flag_state, lambda f: f.id),
        Flag.id,
    ),
    StateTable(
        EntityType.DISPUTE,
        lambda: _with_subject_and_org(Dispute),
        _rendered(_dispute_state, lambda d: d.id),
        Dispute.id,
    ),
    StateTable(
        EntityType.RECOVERY,
        lambda: (
            select(RecoveryEntry, Subject.key, Organisation.code)
            .join(Subject, Subject.id == RecoveryEntry.subject_id)
            .join(Organisation, Organisation.id == RecoveryEntry.organisation_id)
        ),
        _rendered(_recovery_state, lambda e: e.id),
        RecoveryEntry.id,
        equal=_recovery_equal,
    ),
    StateTable(
        EntityType.HOLD,
        holds_joined,
        _rendered(lambda *row: hold_state(row), lambda h: h.id),
        Hold.id,
    ),
    # Only warnings with an outcome have an event; the rest are covered by seals.
    StateTable(
        EntityType.WARNING,
        lambda: select(Warning).where(_has_outcome()),
        _rendered(_warning_state, lambda w: w.id),
        Warning.id,
        scope=_has_outcome,
    ),
    StateTable(
        EntityType.ORGANISATION,
        lambda: select(Organisation),
        _rendered(organisation_state, lambda o: o.code),
        Organisation.code,
    ),
    StateTable(
        EntityType.CLIENT,
        lambda: select(Client, Organisation.code).join(
            Organisation, Organisation.id == Client.organisation_id
        ),
        _rendered(client_state, lambda c: c.client_id),
        Client.client_id,
        equal=_client_equal,
    ),
    StateTable(
        EntityType.USER,
        lambda: select(StaffUser, Organisation.code).join(
            Organisation, Organisation.id == StaffUser.organisation_id
        ),
        _rendered(user_state, lambda u: u.id),
        StaffUser.id,
    ),
    StateTable(
        EntityType.CITIZEN_REPORT,
        lambda: select(CitizenReport),
        _rendered(report_state, lambda r: r.id),
        CitizenReport.id,
    ),
    StateTable(
        EntityType.BULLETIN,
        lambda: select(Bulletin, Organisation.code).join(
            Organisation, Organisation.id == Bulletin.organisation_id
        ),
        _rendered(bulletin_state, lambda b: b.id),
        Bulletin.id,
    ),
    StateTable(
        EntityType.WEBHOOK,
        lambda: select(WebhookSubscription, Organisation.code).join(
            Organisation, Organisation.id == WebhookSubscription.organisation_id
        ),
        _rendered(subscription_state, lambda w: w.id),
        WebhookSubscription.id,
    ),
)


async def _rows(
    session: AsyncSession, table: StateTable, after: str | None
) -> list[tuple[str, State | None]]:
    """The next batch of the table's rows after ``after`` (keyset), rendered."""
    stmt = table.query().order_by(table.id_column).limit(_BATCH)
    if after is not None:
        stmt = stmt.where(table.id_column > after)
    out = [table.render(row) for row in (await session.execute(stmt)).all()]
    session.expunge_all()
    return out


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
        rows = await _rows(session, table, after)
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
