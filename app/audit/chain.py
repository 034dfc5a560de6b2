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


class _LastTimestamp:
    """The JSON ``default`` for datetimes, remembering the last one: the events of one
    transaction share their ``occurred_at``. Only UTC values are remembered, for which
    equal means the same instant and so the same text. One tuple, swapped whole, so a
    reader in another thread never pairs one value with another's text."""

    def __init__(self) -> None:
        self.last: tuple[datetime | None, str] = (None, "")

    def __call__(self, value: Any) -> Any:
        if not isinstance(value, datetime):
            raise TypeError(f"{type(value).__name__} is not JSON serialisable")
        if value.tzinfo is not UTC:
            return format_timestamp(value)
        last = self.last
        if value != last[0]:
            last = self.last = (value, format_timestamp(value))
        return last[1]


# json.dumps builds a new encoder per call; these two are what it would build, made once.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_DIRECT = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_LastTimestamp()
)


def canonical_bytes(event: dict[str, Any]) -> bytes:
    body = {name: event.get(name) for name in HASHED_FIELDS}
    # Fast path, byte-identical to the walk below: when the JSON text comes out NFC, every
    # string in it already was (a quote, a backslash and the ASCII of an escape never
    # compose with their neighbours, so neither hides nor repairs a string's non-NFC part),
    # and NFC is then the identity. Only a text with a non-NFC string is walked.
    try:
        text = _DIRECT.encode(body)
    except (TypeError, ValueError):
        text = None
    if text is None or not (text.isascii() or unicodedata.is_normalized("NFC", text)):
        text = _CANONICAL.encode({name: _canonical(value) for name, value in body.items()})
    return text.encode()


def chain_hash(prev_hash: str, event: dict[str, Any]) -> str:
    """``hash = SHA-256(prev_hash || canonical event)`` as lowercase hex."""
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_bytes(event)).hexdigest()
