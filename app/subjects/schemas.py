from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Path, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from app.identifiers.normalise import InvalidIdentifier, normalise_key
from app.text import Text

SubjectKind = Literal["bank_account", "ewallet", "phone"]
Risk = Literal["none", "low", "medium", "high"]
Action = Literal["allow", "warn", "hold"]
SubjectKey = Annotated[
    str, Path(min_length=5, max_length=160, description="canonical key, URL-encoded")
]


def _normalised_key(key: str | None) -> str | None:
    if key is None:
        return None
    try:
        return normalise_key(key).key
    except InvalidIdentifier as exc:
        raise PydanticCustomError("value_error", "{reason}", {"reason": exc.reason}) from None


# A list's ``key`` filter: typed like any identifier (SPEC §3), e.g. phone::0912 345 678.
SubjectKeyFilter = Annotated[
    Text | None,
    Query(max_length=160, description="subject key, normalised like any identifier"),
    AfterValidator(_normalised_key),
]

MAX_BATCH_ITEMS = 1000


class SubjectIn(BaseModel):
    """One identifier as the caller writes it; the registry normalises it (SPEC §3)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"kind": "bank_account", "institution": "VCB", "identifier": "0123 456 789"},
                {"kind": "phone", "institution": None, "identifier": "0912 345 678"},
            ]
        },
    )

    kind: SubjectKind
    institution: Text | None = Field(
        default=None,
        max_length=64,
        description="BIN, bank code or short name; e-wallet code; null for phones",
    )
    identifier: Text = Field(min_length=1, max_length=64)


class LookupResult(BaseModel):
    """The answer a payment system acts on. Never names reporters, cases or holders."""

    key: str
    listed: bool
    risk_level: int = Field(ge=0, le=3)
    risk: Risk
    action: Action
    categories: list[str]
    under_dispute: bool
    first_flagged_at: datetime | None
    last_changed_at: datetime | None
    registry_version: int
    warning_id: str | None


class BatchLookupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=MAX_BATCH_ITEMS,
        description="1-1,000 subjects; an invalid item gets its own error entry",
    )


class BatchItemError(BaseModel):
    status: int
    title: str
    detail: str | None = None
    errors: list[dict[str, Any]] | None = None


class BatchItem(BaseModel):
    index: int
    result: LookupResult | None = None
    error: BatchItemError | None = None


class BatchLookupResponse(BaseModel):
    items: list[BatchItem]
    registry_version: int


class VietQRLookupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payload: Text = Field(min_length=1, max_length=512, description="the EMVCo VietQR string")


class VietQRLookupResult(LookupResult):
    bin: str
    account: str
    amount_vnd: int | None


class ChangeItem(BaseModel):
    seq: int
    key: str
    risk_level: int
    action: Action


class ChangesPage(BaseModel):
    items: list[ChangeItem]
    next_after: int
    registry_version: int


class HistoryEvent(BaseModel):
    seq: int
    occurred_at: datetime
    entity_type: str
    entity_id: str
    entity_version: int
    action: str
    actor_org: str | None
    actor_client: str | None
    token_jti: str | None
    request_id: str | None
    state: dict[str, Any]


class HistoryPage(BaseModel):
    items: list[HistoryEvent]
    next_cursor: str | None


class SubjectRecord(BaseModel):
    """A subject's full record, current or as it stood at ``registry_version``."""

    key: str
    kind: str
    institution: str | None
    identifier: str
    listed: bool
    risk_level: int
    risk: Risk
    action: Action
    categories: list[str]
    under_dispute: bool
    first_flagged_at: datetime | None
    last_changed_at: datetime | None
    registry_version: int
    flags: list[dict[str, Any]]
    disputes: list[dict[str, Any]]
    recovery: dict[str, int]
