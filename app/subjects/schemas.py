from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Path, Query
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    WithJsonSchema,
)
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
# A subject every example body names: a VCB account, valid under SPEC §3.
SUBJECT_EXAMPLE: dict[str, Any] = {
    "kind": "bank_account",
    "institution": "VCB",
    "identifier": "0011002345678",
}


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


# Documented as a subject or anything else: any item is accepted, and one that is not a
# valid subject gets its own error entry (the runtime type stays a plain dict, so the batch
# code sees each item exactly as sent).
BatchItemIn = Annotated[
    dict[str, Any],
    WithJsonSchema(
        {
            "anyOf": [
                {"$ref": "#/components/schemas/SubjectIn"},
                {
                    "type": "object",
                    "additionalProperties": True,
                    "description": "anything else: answered with its own `error` entry",
                },
            ]
        }
    ),
]


class BatchLookupRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {"kind": "bank_account", "institution": "VCB", "identifier": "0123456789"},
                        {"kind": "phone", "institution": None, "identifier": "0912 345 678"},
                    ]
                }
            ]
        },
    )

    items: list[BatchItemIn] = Field(
        min_length=1,
        max_length=MAX_BATCH_ITEMS,
        description="1-1,000 subjects; an invalid item gets its own error entry",
    )


class BatchItemError(BaseModel):
    """Why one item was not answered (a 422 in the single lookup's words)."""

    status: int
    title: str
    detail: str | None = None
    errors: list[dict[str, Any]] | None = None


class BatchAnswer(BaseModel):
    """A valid item: its lookup answer, exactly as the single lookup gives it."""

    index: int
    result: LookupResult
    error: None


class BatchError(BaseModel):
    """An item that is not a valid subject: its error, and no answer."""

    index: int
    result: None
    error: BatchItemError


def _batch_item_tag(item: Any) -> str:
    error = item.get("error") if isinstance(item, dict) else getattr(item, "error", None)
    return "answer" if error is None else "error"


# Each entry has both members, one of them null: `result` for an answer, `error` otherwise.
BatchItem = Annotated[
    Annotated[BatchAnswer, Tag("answer")] | Annotated[BatchError, Tag("error")],
    Discriminator(_batch_item_tag),
]


class BatchLookupResponse(BaseModel):
    items: list[BatchItem]
    registry_version: int


class VietQRLookupRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "payload": "00020101021138570010A00000072701270006970436011300110023456"
                    "780208QRIBFTTA53037045802VN63048F2F"
                }
            ]
        },
    )

    payload: Text = Field(min_length=1, max_length=512, description="the EMVCo VietQR string")


class VietQRLookupResult(LookupResult):
    bin: str
    account: str
    amount_vnd: int | None


class ChangeItem(BaseModel):
    """One change of a subject's lookup answer: the whole answer as it stood at ``seq``."""

    seq: int
    key: str
    listed: bool
    risk_level: int = Field(ge=0, le=3)
    risk: Risk
    action: Action
    categories: list[str]
    under_dispute: bool
    first_flagged_at: datetime | None
    last_changed_at: datetime | None


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
    holds: list[dict[str, Any]] = Field(
        default_factory=list, description="hold requests on this subject (SPEC §10)"
    )
    recovery: dict[str, int]
