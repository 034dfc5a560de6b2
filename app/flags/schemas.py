from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from app.subjects.schemas import SUBJECT_EXAMPLE, SubjectIn
from app.text import Text


class FlagStatus(StrEnum):
    REPORTED = "reported"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    CLEARED = "cleared"


MAX_VND = 10**15  # a quadrillion đồng: far above any real loss, far below int64 overflow


class FlagCreate(BaseModel):
    """A report about one subject. ``id``, ``status``, ``version`` and the reporter are set
    by the registry; sending them is a 422."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "subject": SUBJECT_EXAMPLE,
                    "category": "IMPERSONATE_AUTHORITY",
                    "description": "caller posed as police and asked for a transfer",
                    "amount_lost_vnd": 15000000,
                }
            ]
        },
    )

    subject: SubjectIn
    category: Text = Field(
        pattern=r"^[A-Z][A-Z0-9_]{0,63}$", description="a code from GET /v1/typologies"
    )
    description: Text = Field(default="", max_length=2000)
    amount_lost_vnd: int | None = Field(default=None, ge=0, le=MAX_VND, strict=True)
    case_reference: Text | None = Field(
        default=None, min_length=1, max_length=100, description="police only"
    )
    holder_name: Text | None = Field(default=None, min_length=1, max_length=200)


class FlagDecision(BaseModel):
    """The optional body of confirm, reject and withdraw: why (kept on the flag and in its
    history)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "confirmed by case 123/2026/PC02"}]},
    )

    reason: Text | None = Field(default=None, min_length=1, max_length=2000)


class FlagSubject(BaseModel):
    key: str
    kind: str
    institution: str | None
    identifier: str


class FlagRead(BaseModel):
    id: str
    subject: FlagSubject
    organisation: str
    status: FlagStatus
    category: str
    description: str
    amount_lost_vnd: int | None
    case_reference: str | None
    holder_name: str | None
    reason: str | None = Field(description="why it was last confirmed, rejected or withdrawn")
    version: int
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None


class FlagPage(BaseModel):
    items: list[FlagRead]
    next_cursor: str | None
