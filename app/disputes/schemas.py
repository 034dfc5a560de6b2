from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.subjects.schemas import SUBJECT_EXAMPLE, SubjectIn
from app.text import Text

DisputeStatus = Literal["open", "upheld", "rejected"]


class DisputeCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "subject": SUBJECT_EXAMPLE,
                    "reason": "the holder shows the transfer was a refund",
                }
            ]
        },
    )

    subject: SubjectIn
    reason: Text = Field(min_length=1, max_length=2000)
    flag_id: Text | None = Field(
        default=None, min_length=36, max_length=36, pattern=r"^[0-9a-f-]{36}$"
    )


class DisputeResolve(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"outcome": "rejected", "note": "the case file confirms the fraud"}]
        },
    )

    outcome: Literal["upheld", "rejected"]
    note: Text = Field(default="", max_length=2000)


class DisputeRead(BaseModel):
    id: str
    subject_key: str
    organisation: str
    flag_id: str | None
    reason: str
    status: DisputeStatus
    note: str | None
    resolved_by: str | None
    due_at: datetime
    overdue: bool
    resolved_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class DisputePage(BaseModel):
    items: list[DisputeRead]
    next_cursor: str | None
