"""The report as JSON: the source of truth every other format is rendered from.

Each figure says what it counts in its description; those descriptions are the definitions
published in OpenAPI. Counts over a window count events with ``start <= occurred_at < end``;
figures "at the end" are read at ``snapshot_at``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

ReportFormat = Literal["json", "csv", "xlsx", "html"]


class FlagFigures(BaseModel):
    new: int = Field(description="flags created in the window (their first change event)")
    by_category: dict[str, int] = Field(description="new flags per fraud category code")
    by_identifier_kind: dict[str, int] = Field(
        description="new flags per subject kind: bank_account, ewallet, phone"
    )
    by_organisation_kind: dict[str, int] = Field(
        description="new flags per kind of the reporting organisation"
    )
    confirmed: int = Field(
        description="reports confirmed by review in the window (police flags, created "
        "confirmed, are counted under new, not here)"
    )
    rejected: int = Field(description="reports rejected by review in the window")
    expired: int = Field(description="reports that expired unconfirmed in the window")
    withdrawn: int = Field(description="flags withdrawn by their reporter in the window")
    cleared: int = Field(description="flags cleared by an upheld dispute in the window")


class RiskFigures(BaseModel):
    snapshot_at: datetime = Field(description="the instant the distribution is read at")
    by_level: dict[str, int] = Field(
        description="subjects per risk (none, low, medium, high): each subject's latest "
        "answer with occurred_at before snapshot_at; none = once listed, no longer"
    )
    listed: int = Field(description="subjects at risk low, medium or high")


class DisputeFigures(BaseModel):
    opened: int = Field(description="disputes opened in the window")
    upheld: int = Field(description="disputes decided upheld in the window")
    rejected: int = Field(description="disputes decided rejected in the window")
    overdue: int = Field(
        description="disputes open at snapshot_at whose due_at is before snapshot_at"
    )
    snapshot_at: datetime = Field(description="the instant overdue is read at")
    median_days_to_resolve: float | None = Field(
        description="median of (decided - opened) in days over disputes decided in the window"
    )


class RecoveryFigures(BaseModel):
    frozen_vnd: int = Field(description="VND frozen by ledger entries in the window")
    released_vnd: int = Field(description="VND released to holders in the window")
    returned_vnd: int = Field(description="VND returned to victims in the window")
    entries: int = Field(description="ledger entries recorded in the window")


class HoldFigures(BaseModel):
    """Holds between institutions (SPEC §10), by their change events in the window."""

    requested: int = Field(description="holds requested in the window")
    held: int = Field(description="holds answered held in the window")
    declined: int = Field(description="holds answered no_funds or no_such_account")
    confirmed: int = Field(description="holds confirmed by police in the window")
    lapsed: int = Field(description="held holds that lapsed unconfirmed in the window")
    held_vnd: int = Field(description="VND held by the holds answered held in the window")
    returned_vnd: int = Field(description="VND returned to victims through holds in the window")
    median_hours_to_respond: float | None = Field(
        description="median of (answered - requested) in hours over holds answered in the window"
    )


class WarningFigures(BaseModel):
    issued: int = Field(description="warn/hold answers given in the window (created_at)")
    by_action: dict[str, int] = Field(description="warnings issued per action: warn, hold")
    cancelled: int = Field(
        description="outcomes 'cancelled' reported in the window (by outcome_at, whenever "
        "the warning itself was issued): transfers stopped"
    )
    proceeded: int = Field(description="outcomes 'proceeded' reported in the window")
    protected_vnd: int = Field(description="sum of amount_vnd of the cancelled outcomes")


class LookupFigures(BaseModel):
    lookups: int = Field(description="lookups answered (Vietnam calendar days in the window)")
    warned: int = Field(description="lookups answered warn or hold")
    by_organisation_kind: dict[str, int] = Field(description="lookups per asking org kind")
    warned_by_organisation_kind: dict[str, int] = Field(
        description="warn/hold lookups per asking organisation kind"
    )
    public_checks: int = Field(
        default=0,
        description="citizens' checks on the public portal and POST /v1/public/check "
        "(Vietnam calendar days in the window), counted apart from lookups: they issue no "
        "warning",
    )
    public_checks_listed: int = Field(
        default=0, description="public checks that answered confirmed or reported"
    )


class Figures(BaseModel):
    flags: FlagFigures
    risk: RiskFigures
    disputes: DisputeFigures
    recovery: RecoveryFigures
    holds: HoldFigures
    warnings: WarningFigures
    lookups: LookupFigures


class MonthReport(BaseModel):
    month: str = Field(description="YYYY-MM, a calendar month of Vietnam time")
    start: datetime
    end: datetime
    complete: bool = Field(description="false while the month has not ended")
    figures: Figures


class Report(BaseModel):
    """A half-year or year report, rebuilt from the immutable history alone: computing it
    again later gives the same figures once the period has ended."""

    period: str = Field(examples=["2026-H1"])
    kind: Literal["half-year", "year"]
    timezone: Literal["+07:00"] = "+07:00"
    start: datetime = Field(description="inclusive, Vietnam time")
    end: datetime = Field(description="exclusive, Vietnam time")
    complete: bool = Field(description="false for a period not yet ended: partial figures")
    totals: Figures
    months: list[MonthReport]
