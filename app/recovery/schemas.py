from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.flags.schemas import MAX_VND
from app.subjects.schemas import SUBJECT_EXAMPLE, SubjectIn
from app.text import Text

RecoveryAction = Literal["freeze", "release", "return"]


class RecoveryCreate(BaseModel):
    """One ledger entry in whole đồng. A release or return never exceeds what is held."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "subject": SUBJECT_EXAMPLE,
                    "action": "freeze",
                    "amount_vnd": 5000000,
                    "note": "frozen on the police request",
                }
            ]
        },
    )

    subject: SubjectIn
    action: RecoveryAction
    amount_vnd: int = Field(gt=0, le=MAX_VND, strict=True, description="whole VND, no fractions")
    case_reference: Text | None = Field(default=None, min_length=1, max_length=100)
    note: Text | None = Field(default=None, max_length=2000)


class RecoveryTotals(BaseModel):
    frozen_vnd: int = 0
    released_vnd: int = 0
    returned_vnd: int = 0
    held_vnd: int = 0


class RecoveryRead(BaseModel):
    id: str
    subject_key: str
    organisation: str
    action: RecoveryAction
    amount_vnd: int
    case_reference: str | None
    note: str | None
    created_at: datetime
    version: int = 1
    totals: RecoveryTotals = Field(description="the subject's totals after this entry")
    case_totals: RecoveryTotals = Field(description="the entry's case's totals after it")


class CaseTotals(BaseModel):
    case_reference: str | None
    totals: RecoveryTotals


class SubjectRecoveries(BaseModel):
    key: str
    entries: list[RecoveryRead]
    totals: RecoveryTotals
    by_case: list[CaseTotals]


class LedgerLine(BaseModel):
    """One entry in a list of several subjects' entries."""

    id: str
    subject_key: str
    organisation: str
    action: RecoveryAction
    amount_vnd: int
    case_reference: str | None
    note: str | None
    created_at: datetime


class SubjectCaseTotals(BaseModel):
    subject_key: str
    case_reference: str | None
    totals: RecoveryTotals


class LedgerPage(BaseModel):
    """Entries newest first, and the current totals of every case they belong to."""

    entries: list[LedgerLine]
    by_case: list[SubjectCaseTotals]
    next_cursor: str | None
