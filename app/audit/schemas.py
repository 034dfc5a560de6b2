from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class AuditEvent(BaseModel):
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
    subject_key: str | None
    state: dict[str, Any]
    prev_hash: str
    hash: str


class AuditEventPage(BaseModel):
    items: list[AuditEvent]
    next_after: int
    head_seq: int


class StateMismatch(BaseModel):
    """A row that is not the state its latest change event records (``seq`` null: the row
    has no event), or a warning seal its warnings no longer match."""

    entity_type: str
    entity_id: str
    seq: int | None
    reason: str | None = None


class VerifyResult(BaseModel):
    ok: bool = Field(description="the chain verifies and so does every state table")
    checked: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None
    reason: str | None = None
    state_ok: bool = Field(
        default=True,
        description="every row of every state table equals its latest change event's state,"
        " and every sealed warning its seal",
    )
    first_state_mismatch: StateMismatch | None = None
    unsealed_warnings: int = Field(default=0, description="warnings not sealed yet (no error)")


class CheckpointJwk(BaseModel):
    """One EC P-256 public key that verifies audit checkpoints (RFC 7517)."""

    kty: str
    crv: str
    x: str
    y: str
    kid: str
    alg: str
    use: str


class CheckpointKeySet(BaseModel):
    """The JWK Set of the checkpoint public keys (RFC 7517 §5)."""

    keys: list[CheckpointJwk]
