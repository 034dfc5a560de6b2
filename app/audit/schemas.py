from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


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


class VerifyResult(BaseModel):
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None
    reason: str | None = None


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
