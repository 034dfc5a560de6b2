"""Report queries over the history tables: change_event, warning, lookup_count.

Counts are bucketed by month in SQL with a ``CASE`` over the months' exact UTC bounds, so no
database time-zone arithmetic is involved and SQLite and PostgreSQL agree to the second.
Bucketed and JSON-extracted columns are computed in a subquery and grouped outside it:
PostgreSQL would not accept ``GROUP BY`` on an expression whose bound parameters repeat.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ColumnElement, Select, case, cast, func, select
from sqlalchemy import type_coerce as coerce
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.vocabulary import Action, EntityType
from app.db.sums import combine, sum_parts
from app.models import ChangeEvent, LookupCount, Organisation, PublicCheckCount, Warning
from app.reports.periods import Window, utc

# Flag events after creation that are decisions or endings, by their ``action``.
FLAG_TRANSITIONS = (
    Action.CONFIRMED,
    Action.REJECTED,
    Action.EXPIRED,
    Action.WITHDRAWN,
    Action.CLEARED,
)
DISPUTE_DECISIONS = (Action.UPHELD, Action.REJECTED)
# Hold events the reports count (a return's amount is the step in the hold's returned_vnd).
HOLD_FIGURES = (
    Action.REQUESTED,
    Action.HELD,
    Action.DECLINED,
    Action.CONFIRMED,
    Action.LAPSED,
    Action.RETURN,
)

Bucket = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class HoldEvent:
    """One counted hold event, with the figures of the hold's state it records."""

    hold_id: str
    occurred_at: datetime
    action: str
    held_vnd: int
    returned_vnd: int
    created_at: datetime
    responded_at: datetime | None


@dataclass(frozen=True, slots=True)
class DisputeSpan:
    """One dispute as history knows it up to the period end."""

    dispute_id: str
    opened_at: datetime
    due_at: datetime
    decided_at: datetime | None = None
    outcome: str | None = None


def _state(*path: str) -> Any:
    """A text field of the event's JSON state (nested with several names)."""
    state = coerce(ChangeEvent.state, JSON)
    element = state[path[0]] if len(path) == 1 else state[path]
    return element.as_string()


def month_of(column: Any, months: Sequence[Window], *, days: bool = False) -> ColumnElement[int]:
    """Index of the month ``column`` falls in (rows are already limited to the period)."""
    whens = [
        (column < (m.end_day if days else utc(m.end)), index) for index, m in enumerate(months)
    ]
    return case(*whens, else_=-1)


def _in(column: Any, window: Window) -> list[ColumnElement[bool]]:
    return [column >= utc(window.start), column < utc(window.end)]


async def _grouped(
    session: AsyncSession, inner: Select[*tuple[Any, ...]], sums: int = 0
) -> list[Bucket]:
    """``(*keys, count, *sums)`` per distinct key: the last ``sums`` columns are added up.

    Sums are exact Python ints, however large (:mod:`app.db.sums`).
    """
    sub = inner.subquery()
    columns = list(sub.c)
    keys = columns[: len(columns) - sums]
    parts = [part for c in columns[len(columns) - sums :] for part in sum_parts(c)]
    stmt = select(*keys, func.count(), *parts).group_by(*keys)
    buckets = []
    for row in (await session.execute(stmt)).all():
        head, tail = row[: len(keys) + 1], row[len(keys) + 1 :]
        totals = (combine(high, low) for high, low in zip(tail[::2], tail[1::2], strict=True))
        buckets.append((*head, *totals))
    return buckets


class ReportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        # The period's snapshot is also its last month's (and open months share "now").
        self._risk_at: dict[datetime, dict[int, int]] = {}

    async def organisation_kinds(self) -> dict[str, str]:
        """Organisation code to kind; a kind is fixed when the organisation is created."""
        rows = await self.session.execute(select(Organisation.code, Organisation.kind))
        return {code: kind for code, kind in rows.all()}

    async def new_flags(self, period: Window, months: Sequence[Window]) -> list[Bucket]:
        """``(month, category, subject kind, organisation code, count)``."""
        inner = select(
            month_of(ChangeEvent.occurred_at, months).label("month"),
            _state("category").label("category"),
            _state("subject", "kind").label("subject_kind"),
            _state("organisation").label("organisation"),
        ).where(
            ChangeEvent.entity_type == EntityType.FLAG,
            ChangeEvent.entity_version == 1,
            *_in(ChangeEvent.occurred_at, period),
        )
        return await _grouped(self.session, inner)

    async def flag_transitions(self, period: Window, months: Sequence[Window]) -> list[Bucket]:
        """``(month, action, count)`` of flag decisions and endings after creation."""
        inner = select(
            month_of(ChangeEvent.occurred_at, months).label("month"),
            ChangeEvent.action,
        ).where(
            ChangeEvent.entity_type == EntityType.FLAG,
            ChangeEvent.entity_version > 1,
            ChangeEvent.action.in_(FLAG_TRANSITIONS),
            *_in(ChangeEvent.occurred_at, period),
        )
        return await _grouped(self.session, inner)

    async def risk_levels_at(self, moment: datetime) -> dict[int, int]:
        """Subjects per risk level in each subject's latest answer before ``moment``."""
        if moment in self._risk_at:
            return self._risk_at[moment]
        latest = (
            select(func.max(ChangeEvent.seq))
            .where(
                ChangeEvent.entity_type == EntityType.SUBJECT, ChangeEvent.occurred_at < utc(moment)
            )
            .group_by(ChangeEvent.entity_id)
        )
        inner = select(cast(_state("risk_level"), BigInteger).label("level")).where(
            ChangeEvent.seq.in_(latest)
        )
        levels = {int(level): int(n) for level, n in await _grouped(self.session, inner)}
        self._risk_at[moment] = levels
        return levels

    async def recovery(self, period: Window, months: Sequence[Window]) -> list[Bucket]:
        """``(month, action, entries, amount)`` of recovery ledger entries."""
        inner = select(
            month_of(ChangeEvent.occurred_at, months).label("month"),
            ChangeEvent.action,
            cast(_state("amount_vnd"), BigInteger).label("amount"),
        ).where(
            ChangeEvent.entity_type == EntityType.RECOVERY, *_in(ChangeEvent.occurred_at, period)
        )
        return await _grouped(self.session, inner, sums=1)

    async def disputes(self, period: Window) -> list[DisputeSpan]:
        """Disputes opened before the period end and not decided before its start."""
        decided_before = select(ChangeEvent.entity_id).where(
            ChangeEvent.entity_type == EntityType.DISPUTE,
            ChangeEvent.action.in_(DISPUTE_DECISIONS),
            ChangeEvent.occurred_at < utc(period.start),
        )
        opened = select(ChangeEvent.entity_id, ChangeEvent.occurred_at, _state("due_at")).where(
            ChangeEvent.entity_type == EntityType.DISPUTE,
            ChangeEvent.entity_version == 1,
            ChangeEvent.occurred_at < utc(period.end),
            ChangeEvent.entity_id.not_in(decided_before),
        )
        decided = select(ChangeEvent.entity_id, ChangeEvent.occurred_at, ChangeEvent.action).where(
            ChangeEvent.entity_type == EntityType.DISPUTE,
            ChangeEvent.action.in_(DISPUTE_DECISIONS),
            *_in(ChangeEvent.occurred_at, period),
        )
        decisions = {i: (at, action) for i, at, action in await self.session.execute(decided)}
        spans = []
        for dispute_id, opened_at, due_at in await self.session.execute(opened):
            decided_at, outcome = decisions.get(dispute_id, (None, None))
            due = datetime.fromisoformat(due_at)
            spans.append(DisputeSpan(dispute_id, opened_at, due, decided_at, outcome))
        return spans

    async def warnings_issued(self, period: Window, months: Sequence[Window]) -> list[Bucket]:
        """``(month, action, count)`` of warnings by the time they were issued."""
        inner = select(month_of(Warning.created_at, months).label("month"), Warning.action).where(
            *_in(Warning.created_at, period)
        )
        return await _grouped(self.session, inner)

    async def warning_outcomes(self, period: Window, months: Sequence[Window]) -> list[Bucket]:
        """``(month, outcome, count, amount)`` by the time the outcome was reported."""
        inner = select(
            month_of(Warning.outcome_at, months).label("month"),
            Warning.outcome,
            Warning.amount_vnd,
        ).where(Warning.outcome.is_not(None), *_in(Warning.outcome_at, period))
        return await _grouped(self.session, inner, sums=1)

    async def lookups(self, period: Window, months: Sequence[Window]) -> list[Bucket]:
        """``(month, organisation kind, rows, lookups, warned)`` per Vietnam calendar day."""
        inner = (
            select(
                month_of(LookupCount.day, months, days=True).label("month"),
                Organisation.kind,
                LookupCount.lookups,
                LookupCount.warned,
            )
            .join(Organisation, Organisation.id == LookupCount.organisation_id)
            .where(LookupCount.day >= period.first_day, LookupCount.day < period.end_day)
        )
        return await _grouped(self.session, inner, sums=2)

    async def hold_events(self, period: Window) -> list[HoldEvent]:
        """The counted hold events before the period end, in chain order (a return's
        amount needs the hold's earlier returns)."""
        stmt = (
            select(
                ChangeEvent.entity_id,
                ChangeEvent.occurred_at,
                ChangeEvent.action,
                ChangeEvent.state,
            )
            .where(
                ChangeEvent.entity_type == EntityType.HOLD,
                ChangeEvent.action.in_(HOLD_FIGURES),
                ChangeEvent.occurred_at < utc(period.end),
            )
            .order_by(ChangeEvent.seq)
        )
        out = []
        for hold_id, occurred_at, action, state in await self.session.execute(stmt):
            responded = state.get("responded_at")
            out.append(
                HoldEvent(
                    hold_id,
                    occurred_at,
                    action,
                    int(state["held_vnd"]),
                    int(state["returned_vnd"]),
                    datetime.fromisoformat(state["created_at"]),
                    datetime.fromisoformat(responded) if responded else None,
                )
            )
        return out

    async def public_checks(self, period: Window, months: Sequence[Window]) -> list[Bucket]:
        """``(month, rows, checks, listed)`` of public checks per Vietnam calendar day."""
        inner = select(
            month_of(PublicCheckCount.day, months, days=True).label("month"),
            PublicCheckCount.checks,
            PublicCheckCount.listed,
        ).where(PublicCheckCount.day >= period.first_day, PublicCheckCount.day < period.end_day)
        return await _grouped(self.session, inner, sums=2)
