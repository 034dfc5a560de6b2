from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from app.flags.schemas import MAX_VND
from app.subjects.schemas import SUBJECT_EXAMPLE, SubjectIn
from app.text import Text

HoldStatus = Literal["requested", "held", "declined", "confirmed", "lapsed", "closed", "cancelled"]
HoldRole = Literal["requester", "holder"]
Vnd = Annotated[int, Field(gt=0, le=MAX_VND, strict=True, description="whole VND, no fractions")]
Reference = Annotated[Text, Field(min_length=1, max_length=100)]


def _rfc3339_text(value: object) -> object:
    """A time in a JSON body is an RFC 3339 string; a number is not taken for Unix time."""
    if not isinstance(value, str | datetime):
        raise ValueError("must be an RFC 3339 date-time string")
    return value


Timestamp = Annotated[AwareDatetime, BeforeValidator(_rfc3339_text)]


class HoldCreate(BaseModel):
    """Ask the institution that holds the account to hold money, in whole đồng."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "subject": SUBJECT_EXAMPLE,
                    "amount_vnd": 45000000,
                    "reason": "victim reports a transfer to a fake police officer",
                    "transfer_reference": "FT26338000123",
                    "transferred_at": "2026-12-04T08:15:00Z",
                }
            ]
        },
    )

    subject: SubjectIn
    amount_vnd: Vnd
    reason: Text = Field(min_length=1, max_length=2000)
    case_reference: Reference | None = None
    transfer_reference: Reference | None = None
    transferred_at: Timestamp | None = Field(
        default=None, description="when the victim's transfer was made (RFC 3339)"
    )


class HoldHeld(BaseModel):
    """Money held: a freeze in the ledger, for the hold's case, in the same transaction."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"outcome": "held", "held_vnd": 45000000}]},
    )

    outcome: Literal["held"]
    held_vnd: Vnd = Field(description="what was held, more than 0 and at most amount_vnd")


class HoldDeclined(BaseModel):
    """Nothing held, and why."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"outcome": "no_funds"}]}
    )

    outcome: Literal["no_funds", "no_such_account"]


# The holder's answer: {"outcome": "held", "held_vnd"} or {"outcome": "no_funds" | ...}.
HoldRespond = Annotated[HoldHeld | HoldDeclined, Field(discriminator="outcome")]


class HoldConfirm(BaseModel):
    """Police confirm the hold for a case."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"case_reference": "HCM-2026-0042"}]}
    )

    case_reference: Reference


class HoldAmount(BaseModel):
    """Money released to the account holder, or returned to the victim."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"amount_vnd": 45000000}]}
    )

    amount_vnd: Vnd


class HoldRead(BaseModel):
    id: str
    subject_key: str
    status: HoldStatus
    holder: str = Field(description="the organisation that holds the account")
    requested_by: str
    amount_vnd: int
    held_vnd: int
    released_vnd: int
    returned_vnd: int
    remaining_vnd: int = Field(description="held and not yet released or returned")
    reason: str
    case_reference: str | None
    transfer_reference: str | None
    transferred_at: datetime | None
    outcome: Literal["held", "no_funds", "no_such_account"] | None
    respond_by: datetime
    confirm_by: datetime
    overdue: bool = Field(description="still requested after respond_by")
    responded_at: datetime | None
    confirmed_by: str | None
    confirmed_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class HoldPage(BaseModel):
    items: list[HoldRead]
    next_cursor: str | None
