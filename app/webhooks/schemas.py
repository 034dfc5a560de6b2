from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.text import Text
from app.webhooks.events import EventType

WebhookStatus = Literal["active", "disabled"]
DeliveryStatus = Literal["delivered", "retrying", "failed", "disabled"]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://hooks.example-bank.vn/registry",
                    "events": ["customer.listed", "dispute.updated"],
                }
            ]
        },
    )

    url: Text = Field(
        min_length=8,
        max_length=2048,
        description="an https URL of a public host (http only for a host the operator allows)",
    )
    events: list[EventType] = Field(min_length=1, max_length=len(EventType))

    @field_validator("events")
    @classmethod
    def _unique(cls, events: list[EventType]) -> list[EventType]:
        return list(dict.fromkeys(events))


class WebhookRead(BaseModel):
    id: str
    url: str
    events: list[EventType]
    status: WebhookStatus
    previous_secret_expires_at: datetime | None = Field(
        description="until then the previous secret signs too (after a rotation)"
    )
    version: int
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookRead):
    secret: str | None = Field(
        description="`whsec_...`, shown once, in this answer only. An Idempotency-Key replay "
        "answers null: rotate the secret if the first answer was lost"
    )


class WebhookSecretRotated(WebhookRead):
    secret: str = Field(
        description="the new secret, shown once; the previous one keeps signing beside it "
        "until previous_secret_expires_at (24 h)"
    )


class WebhookList(BaseModel):
    items: list[WebhookRead]


class PingSent(BaseModel):
    webhook_id: str = Field(description="the `webhook-id` the ping is delivered with")
    type: Literal["ping"] = "ping"


class DeliveryRead(BaseModel):
    id: int
    webhook_id: str
    type: str
    attempt: int
    status: DeliveryStatus
    status_code: int | None
    error: str | None
    duration_ms: int
    attempted_at: datetime


class DeliveryPage(BaseModel):
    items: list[DeliveryRead]
    next_cursor: str | None


class InboxMessage(BaseModel):
    id: int = Field(description="the message's position: pass the last one as `after`")
    webhook_id: str = Field(description="the `webhook-id` a webhook delivers it with")
    type: EventType
    timestamp: datetime
    data: dict[str, Any]


class InboxPage(BaseModel):
    items: list[InboxMessage]
    next_after: int
    last_id: int = Field(description="the newest message id of the registry")
