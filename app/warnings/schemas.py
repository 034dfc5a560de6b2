from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.flags.schemas import MAX_VND


class WarningOutcome(BaseModel):
    """What the customer did after the warning; feeds "transfers stopped, VND protected"."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"outcome": "cancelled", "amount_vnd": 2000000}]},
    )

    outcome: Literal["cancelled", "proceeded"]
    amount_vnd: int = Field(ge=0, le=MAX_VND, strict=True, description="the transfer amount")


class WarningRead(BaseModel):
    id: str
    subject_key: str
    action: str
    created_at: datetime
    outcome: str | None
    amount_vnd: int | None
    outcome_at: datetime | None
