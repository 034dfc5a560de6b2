"""Report figures: the period's totals and one column per month, all from history.

Nothing here reads current state (``flag``, ``dispute``, ``subject`` rows): only change
events, warnings (``created_at``; outcomes by ``outcome_at``) and lookup counts. Once a
period has ended its report is therefore fixed, however the registry changes later.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import ALLOWED_KINDS, OrgKind, Scope
from app.db.types import utcnow
from app.reference.catalogue import typologies
from app.reports.holds import hold_figures
from app.reports.periods import VIETNAM, Period, Window, parse_period
from app.reports.repository import DisputeSpan, HoldEvent, ReportRepository
from app.reports.schemas import (
    DisputeFigures,
    Figures,
    FlagFigures,
    LookupFigures,
    MonthReport,
    RecoveryFigures,
    Report,
    RiskFigures,
    WarningFigures,
)
from app.subjects.risk import RISK_NAMES

IDENTIFIER_KINDS = ("bank_account", "ewallet", "phone")


def _kinds_holding(scope: Scope) -> tuple[str, ...]:
    return tuple(kind.value for kind in OrgKind if kind in ALLOWED_KINDS[scope])


# Listed in every report, zero or not, so analysts always get the same columns.
FLAGGING_KINDS = _kinds_holding(Scope.FLAGS_WRITE)
LOOKUP_KINDS = _kinds_holding(Scope.LOOKUP)
SECONDS_PER_DAY = 86_400


@dataclass
class Tally:
    """The additive figures of one month; a period's tally is the sum of its months'."""

    categories: Counter[str] = field(default_factory=Counter)
    identifier_kinds: Counter[str] = field(default_factory=Counter)
    flagging_kinds: Counter[str] = field(default_factory=Counter)
    transitions: Counter[str] = field(default_factory=Counter)
    recovery_vnd: Counter[str] = field(default_factory=Counter)
    recovery_entries: int = 0
    warnings: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    protected_vnd: int = 0
    lookups: Counter[str] = field(default_factory=Counter)
    warned: Counter[str] = field(default_factory=Counter)
    public_checks: int = 0
    public_listed: int = 0

    def __iadd__(self, other: Tally) -> Tally:
        for name, value in vars(other).items():
            setattr(self, name, getattr(self, name) + value)
        return self


def _zeros(keys: Sequence[str], counts: Counter[str]) -> dict[str, int]:
    """Every expected key (stable columns for analysts), then any unexpected one found."""
    return {key: counts[key] for key in (*keys, *sorted(set(counts) - set(keys)))}


async def _tallies(repo: ReportRepository, period: Period) -> list[Tally]:
    months, window = period.months, period.window
    tallies = [Tally() for _ in months]
    org_kinds = await repo.organisation_kinds()
    for month, category, kind, org, n in await repo.new_flags(window, months):
        tally = tallies[month]
        tally.categories[category] += n
        tally.identifier_kinds[kind] += n
        tally.flagging_kinds[org_kinds.get(org, "unknown")] += n
    for month, action, n in await repo.flag_transitions(window, months):
        tallies[month].transitions[action] += n
    for month, action, n, amount in await repo.recovery(window, months):
        tallies[month].recovery_vnd[action] += int(amount)
        tallies[month].recovery_entries += n
    for month, action, n in await repo.warnings_issued(window, months):
        tallies[month].warnings[action] += n
    for month, outcome, n, amount in await repo.warning_outcomes(window, months):
        tallies[month].outcomes[outcome] += n
        if outcome == "cancelled":
            tallies[month].protected_vnd += int(amount)
    for month, org_kind, _days, n, warned in await repo.lookups(window, months):
        tallies[month].lookups[org_kind] += int(n)
        tallies[month].warned[org_kind] += int(warned)
    for month, _days, checks, listed in await repo.public_checks(window, months):
        tallies[month].public_checks += int(checks)
        tallies[month].public_listed += int(listed)
    return tallies


def _flag_figures(tally: Tally) -> FlagFigures:
    return FlagFigures(
        new=sum(tally.categories.values()),
        by_category=_zeros([t.code for t in typologies()], tally.categories),
        by_identifier_kind=_zeros(IDENTIFIER_KINDS, tally.identifier_kinds),
        by_organisation_kind=_zeros(FLAGGING_KINDS, tally.flagging_kinds),
        confirmed=tally.transitions["confirmed"],
        rejected=tally.transitions["rejected"],
        expired=tally.transitions["expired"],
        withdrawn=tally.transitions["withdrawn"],
        cleared=tally.transitions["cleared"],
    )


def dispute_figures(spans: Sequence[DisputeSpan], window: Window, now: datetime) -> DisputeFigures:
    """Opened and decided in ``window``; overdue at its snapshot; median days to decide."""
    start, end, snapshot = window.start, window.end, window.snapshot_at(now)
    decided = [s for s in spans if s.decided_at is not None and start <= s.decided_at < end]
    days = [
        (s.decided_at - s.opened_at).total_seconds() / SECONDS_PER_DAY
        for s in decided
        if s.decided_at is not None
    ]
    overdue = sum(
        1
        for s in spans
        if s.opened_at < snapshot
        and (s.decided_at is None or s.decided_at >= snapshot)
        and s.due_at < snapshot
    )
    return DisputeFigures(
        opened=sum(1 for s in spans if start <= s.opened_at < end),
        upheld=sum(1 for s in decided if s.outcome == "upheld"),
        rejected=sum(1 for s in decided if s.outcome == "rejected"),
        overdue=overdue,
        snapshot_at=snapshot,
        median_days_to_resolve=round(statistics.median(days), 2) if days else None,
    )


async def _risk_figures(repo: ReportRepository, window: Window, now: datetime) -> RiskFigures:
    snapshot = window.snapshot_at(now)
    levels = await repo.risk_levels_at(snapshot)
    by_level = {name: levels.get(level, 0) for level, name in enumerate(RISK_NAMES)}
    listed = sum(n for level, n in levels.items() if level > 0)
    return RiskFigures(snapshot_at=snapshot, by_level=by_level, listed=listed)


async def _figures(
    repo: ReportRepository,
    tally: Tally,
    spans: Sequence[DisputeSpan],
    holds: Sequence[HoldEvent],
    window: Window,
    now: datetime,
) -> Figures:
    return Figures(
        flags=_flag_figures(tally),
        risk=await _risk_figures(repo, window, now),
        disputes=dispute_figures(spans, window, now),
        recovery=RecoveryFigures(
            frozen_vnd=tally.recovery_vnd["freeze"],
            released_vnd=tally.recovery_vnd["release"],
            returned_vnd=tally.recovery_vnd["return"],
            entries=tally.recovery_entries,
        ),
        holds=hold_figures(holds, window),
        warnings=WarningFigures(
            issued=sum(tally.warnings.values()),
            by_action=_zeros(("warn", "hold"), tally.warnings),
            cancelled=tally.outcomes["cancelled"],
            proceeded=tally.outcomes["proceeded"],
            protected_vnd=tally.protected_vnd,
        ),
        lookups=LookupFigures(
            lookups=sum(tally.lookups.values()),
            warned=sum(tally.warned.values()),
            by_organisation_kind=_zeros(LOOKUP_KINDS, tally.lookups),
            warned_by_organisation_kind=_zeros(LOOKUP_KINDS, tally.warned),
            public_checks=tally.public_checks,
            public_checks_listed=tally.public_listed,
        ),
    )


async def build_report(session: AsyncSession, period: str, now: datetime | None = None) -> Report:
    """The report for ``period`` (``2026-H1``, ``2026-H2``, ``2026``) as of ``now``.

    A period that has not ended yet is computed up to now and marked ``complete: false``.
    """
    parsed = parse_period(period)
    now = (now or utcnow()).astimezone(VIETNAM)
    repo = ReportRepository(session)
    tallies = await _tallies(repo, parsed)
    spans = await repo.disputes(parsed.window)
    holds = await repo.hold_events(parsed.window)
    total = Tally()
    months = []
    for month, tally in zip(parsed.months, tallies, strict=True):
        total += tally
        months.append(
            MonthReport(
                month=month.label,
                start=month.start,
                end=month.end,
                complete=month.complete(now),
                figures=await _figures(repo, tally, spans, holds, month, now),
            )
        )
    window = parsed.window
    return Report(
        period=parsed.label,
        kind=parsed.kind,
        start=window.start,
        end=window.end,
        complete=window.complete(now),
        totals=await _figures(repo, total, spans, holds, window, now),
        months=months,
    )
