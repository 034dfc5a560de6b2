"""Hand-computed figures of the history in ``history.py``, month by month (2026).

Only non-zero additive figures are listed; everything else is expected to be 0. Risk and
overdue are read at each month's end, so they are listed for every month.
"""

from __future__ import annotations

from typing import Any

MONTHLY: dict[int, dict[str, int | float]] = {
    1: {
        "flags.new": 2,
        "flags.by_category.TASK_SCAM": 1,
        "flags.by_category.IMPERSONATE_AUTHORITY": 1,
        "flags.by_identifier_kind.bank_account": 1,
        "flags.by_identifier_kind.phone": 1,
        "flags.by_organisation_kind.bank": 1,
        "flags.by_organisation_kind.telecom": 1,
        "warnings.issued": 1,
        "warnings.by_action.hold": 1,
        "warnings.cancelled": 2,  # the one issued on 2025-12-31 counts by its outcome_at
        "warnings.protected_vnd": 7_000_000,
        "lookups.lookups": 100,
        "lookups.warned": 3,
        "lookups.by_organisation_kind.bank": 100,
        "lookups.warned_by_organisation_kind.bank": 3,
    },
    2: {
        "flags.new": 2,
        "flags.by_category.INVESTMENT_CRYPTO": 1,
        "flags.by_category.IMPERSONATE_AUTHORITY": 1,
        "flags.by_identifier_kind.ewallet": 1,
        "flags.by_identifier_kind.bank_account": 1,
        "flags.by_organisation_kind.ewallet": 1,
        "flags.by_organisation_kind.police": 1,
        "recovery.frozen_vnd": 50_000_000,
        "recovery.entries": 1,
        "lookups.lookups": 4,
        "lookups.warned": 4,
        "lookups.by_organisation_kind.regulator": 4,
        "lookups.warned_by_organisation_kind.regulator": 4,
    },
    3: {
        "flags.new": 1,
        "flags.by_category.FAKE_SHOP": 1,
        "flags.by_identifier_kind.bank_account": 1,
        "flags.by_organisation_kind.bank": 1,
        "flags.confirmed": 1,
        "recovery.frozen_vnd": 3_000_000_000,
        "recovery.entries": 1,
        "warnings.issued": 1,
        "warnings.by_action.warn": 1,
    },
    4: {"flags.confirmed": 1, "flags.rejected": 1},
    5: {"flags.expired": 1, "disputes.opened": 1},
    6: {
        "flags.new": 2,
        "flags.by_category.FAKE_LOAN": 2,
        "flags.by_identifier_kind.bank_account": 2,
        "flags.by_organisation_kind.bank": 1,
        "flags.by_organisation_kind.ewallet": 1,
        "disputes.opened": 1,
        "recovery.released_vnd": 10_000_000,
        "recovery.entries": 1,
        "warnings.issued": 1,
        "warnings.by_action.warn": 1,
        "lookups.lookups": 50,
        "lookups.warned": 2,
        "lookups.by_organisation_kind.ewallet": 50,
        "lookups.warned_by_organisation_kind.ewallet": 2,
    },
    7: {
        "flags.new": 1,
        "flags.by_category.PRIZE_SCAM": 1,
        "flags.by_identifier_kind.phone": 1,
        "flags.by_organisation_kind.telecom": 1,
        "flags.cleared": 1,
        "disputes.upheld": 1,
        "disputes.rejected": 1,
        "recovery.returned_vnd": 30_000_000,
        "recovery.entries": 1,
        "warnings.issued": 1,
        "warnings.by_action.hold": 1,
        "warnings.cancelled": 1,
        "warnings.proceeded": 1,
        "warnings.protected_vnd": 7_000_000,
        "lookups.lookups": 20,
        "lookups.warned": 1,
        "lookups.by_organisation_kind.bank": 20,
        "lookups.warned_by_organisation_kind.bank": 1,
    },
    8: {"flags.withdrawn": 1},
    12: {
        "flags.new": 1,
        "flags.by_category.ROMANCE": 1,
        "flags.by_identifier_kind.ewallet": 1,
        "flags.by_organisation_kind.ewallet": 1,
        "lookups.lookups": 7,
        "lookups.by_organisation_kind.police": 7,
    },
}

# Subjects per risk (none, low, medium, high) at each month end; A..K in history.py.
RISK_AT_END: dict[int, tuple[int, int, int, int]] = {
    1: (0, 2, 0, 0),  # A low, D low
    2: (0, 3, 0, 1),  # + C low, B high
    3: (0, 3, 0, 2),  # A confirmed, + E low
    4: (1, 1, 0, 3),  # E rejected, C confirmed
    5: (2, 0, 0, 3),  # D expired
    6: (2, 0, 1, 3),  # K reported by two organisations
    7: (3, 1, 1, 2),  # C cleared by the upheld dispute, + F low
    8: (4, 0, 1, 2),  # F withdrawn
    9: (4, 0, 1, 2),
    10: (4, 0, 1, 2),
    11: (4, 0, 1, 2),
    12: (4, 1, 1, 2),  # + G at 23:59:59; H on 2027-01-01 is not in 2026
}
OVERDUE_AT_END: dict[int, int] = {6: 1}  # the first dispute, due 2026-06-04, decided 07-01
# First dispute: 2026-05-20 10:00 to 07-01 00:00 = 41.5833 days; second: 2.5 days.
MEDIAN_DAYS: dict[str, float | None] = {"2026-H1": None, "2026-H2": 22.04, "2026": 22.04}
MONTH_MEDIAN_DAYS: dict[int, float] = {7: 22.04}

PERIOD_MONTHS = {"2026-H1": range(1, 7), "2026-H2": range(7, 13), "2026": range(1, 13)}

# A few period totals written out in full, not summed from the months above.
HEADLINES: dict[str, dict[str, int]] = {
    "2026-H1": {
        "flags.new": 7,
        "flags.by_identifier_kind.bank_account": 5,
        "flags.by_organisation_kind.bank": 3,
        "recovery.frozen_vnd": 3_050_000_000,
        "warnings.issued": 3,
        "warnings.cancelled": 2,
        "warnings.protected_vnd": 7_000_000,
        "lookups.lookups": 154,
        "disputes.overdue": 1,
        "risk.listed": 4,
    },
    "2026-H2": {
        "flags.new": 2,
        "warnings.issued": 1,
        "warnings.protected_vnd": 7_000_000,
        "lookups.lookups": 27,
        "disputes.overdue": 0,
        "risk.listed": 4,
    },
    "2026": {
        "flags.new": 9,
        "warnings.protected_vnd": 14_000_000,
        "recovery.returned_vnd": 30_000_000,
        "lookups.lookups": 181,
        "lookups.warned": 10,
    },
}


def flatten(figures: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"flags.by_category.TASK_SCAM": 1, ...}`` from one month's or the period's figures."""
    out: dict[str, Any] = {}
    for name, value in figures.items():
        path = f"{prefix}{name}"
        if isinstance(value, dict):
            out.update(flatten(value, path + "."))
        else:
            out[path] = value
    return out


def risk_figures(month: int) -> dict[str, int]:
    none, low, medium, high = RISK_AT_END[month]
    return {
        "risk.by_level.none": none,
        "risk.by_level.low": low,
        "risk.by_level.medium": medium,
        "risk.by_level.high": high,
        "risk.listed": low + medium + high,
    }


def expected_month(month: int, actual: dict[str, Any]) -> dict[str, Any]:
    """Every figure of ``actual``'s shape: listed values, zero elsewhere."""
    expected: dict[str, Any] = {p: 0 for p in actual if not p.endswith("snapshot_at")}
    expected["disputes.median_days_to_resolve"] = MONTH_MEDIAN_DAYS.get(month)
    expected["holds.median_hours_to_respond"] = None  # this history has no holds
    expected.update(MONTHLY.get(month, {}))
    expected.update(risk_figures(month))
    expected["disputes.overdue"] = OVERDUE_AT_END.get(month, 0)
    return expected


def expected_totals(period: str, actual: dict[str, Any]) -> dict[str, Any]:
    months = PERIOD_MONTHS[period]
    expected: dict[str, Any] = {p: 0 for p in actual if not p.endswith("snapshot_at")}
    for month in months:
        for path, value in MONTHLY.get(month, {}).items():
            expected[path] += value
    expected.update(risk_figures(months[-1]))
    expected["disputes.overdue"] = OVERDUE_AT_END.get(months[-1], 0)
    expected["disputes.median_days_to_resolve"] = MEDIAN_DAYS[period]
    expected["holds.median_hours_to_respond"] = None
    return expected
