"""Risk derived from a subject's active flags (SPEC §4 table)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# The flag statuses that count (app.flags.schemas.FlagStatus values; the flag table's
# partial unique index spells the same set in SQL).
ACTIVE_STATUSES = frozenset({"reported", "confirmed"})
RISK_NAMES = ("none", "low", "medium", "high")
ACTIONS = ("allow", "warn", "warn", "hold")


@dataclass(frozen=True, slots=True)
class FlagFacts:
    status: str
    organisation_id: int
    category: str


@dataclass(frozen=True, slots=True)
class Risk:
    level: int
    categories: tuple[str, ...]

    @property
    def name(self) -> str:
        return RISK_NAMES[self.level]

    @property
    def action(self) -> str:
        return ACTIONS[self.level]


def derive_risk(flags: Iterable[FlagFacts]) -> Risk:
    """0 none; 1 reports from one organisation; 2 from two or more; 3 any confirmed."""
    active = [f for f in flags if f.status in ACTIVE_STATUSES]
    if not active:
        return Risk(0, ())
    categories = tuple(sorted({f.category for f in active}))
    if any(f.status == "confirmed" for f in active):
        return Risk(3, categories)
    reporters = {f.organisation_id for f in active}
    return Risk(2 if len(reporters) >= 2 else 1, categories)
