"""Canonical encoding of change events and the chain hash.

The hash covers a canonical JSON form (sorted keys, no whitespace, UTF-8, NFC strings), so
re-serialising an event differently (field order, spacing, ``\\u`` escapes) cannot change it.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from datetime import UTC, datetime
from typing import Any

HASHED_FIELDS = (
    "seq",
    "occurred_at",
    "entity_type",
    "entity_id",
    "entity_version",
    "action",
    "actor_org",
    "actor_client",
    "token_jti",
    "request_id",
    "subject_key",
    "state",
)


def _canonical(value: Any) -> Any:
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {_canonical(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, datetime):
        return format_timestamp(value)
    return value


def format_timestamp(value: datetime) -> str:
    """RFC 3339 UTC with microseconds: the one textual form of a time in the chain."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_bytes(event: dict[str, Any]) -> bytes:
    body = {name: _canonical(event.get(name)) for name in HASHED_FIELDS}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(prev_hash: str, event: dict[str, Any]) -> str:
    """``hash = SHA-256(prev_hash || canonical event)`` as lowercase hex."""
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_bytes(event)).hexdigest()
