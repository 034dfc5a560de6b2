"""Opaque cursors for cursor pagination (``limit`` ≤ 500, ``cursor``, ``next_cursor``)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query

from app.errors import InvalidInput

MAX_PAGE = 500

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="page size, at most 500")]
Cursor = Annotated[
    str | None,
    Query(
        max_length=200,
        pattern=r"^[A-Za-z0-9_-]+={0,2}$",
        description="next_cursor of the previous page",
    ),
]


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


def decode_cursor(cursor: str, length: int) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        values = None
    if not isinstance(values, list) or len(values) != length:
        raise InvalidInput(
            "cursor is not valid",
            errors=[
                {
                    "loc": ["query", "cursor"],
                    "msg": "not a cursor from this list",
                    "type": "value_error",
                }
            ],
        )
    return values


def decode_time_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    """The (created_at, id) position after which a chronological page starts."""
    if cursor is None:
        return None
    created, row_id = decode_cursor(cursor, 2)
    try:
        return datetime.fromisoformat(created), str(row_id)
    except (TypeError, ValueError):
        raise InvalidInput("cursor is not valid") from None


def next_time_cursor(rows: Sequence[tuple[Any, ...]], limit: int) -> str | None:
    """Given ``limit + 1`` rows (each led by a model with ``created_at`` and ``id``), the
    cursor of the next page, or None on the last page."""
    if len(rows) <= limit:
        return None
    last = rows[limit - 1][0]
    return encode_cursor([last.created_at.isoformat(), last.id])
