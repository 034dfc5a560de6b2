"""``Idempotency-Key`` (SPEC §5): stored in the same transaction as the effect.

Keys are per organisation. The same key with the same body replays the stored response;
the same key with another body is a 422.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.db.session import resource_response, writing
from app.db.unit_of_work import UnitOfWork
from app.errors import IdempotencyKeyReused, InvalidInput
from app.models import IdempotencyRecord
from app.preconditions import ETAG_HEADER, etag

MAX_KEY_LENGTH = 200

# The 201 of ``idempotent_create``, for the endpoint's ``responses=``.
CREATED_RESPONSE: dict[int | str, dict[str, Any]] = {
    201: {
        "headers": {
            "ETag": ETAG_HEADER,
            "Location": {
                "description": "where the new resource is read; absent on a replay",
                "schema": {"type": "string"},
            },
            "Idempotent-Replayed": {
                "description": "`true` when this is the stored answer to an earlier request "
                "with the same `Idempotency-Key` and body",
                "schema": {"type": "string", "enum": ["true"]},
            },
        }
    }
}


def idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    return None if key is None else checked_key(key)


def checked_key(key: str) -> str:
    """An idempotency key, from the header or from a console form's hidden field."""
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput(
            "Idempotency-Key must be 1-200 printable characters",
            errors=[
                {"loc": ["header", "Idempotency-Key"], "msg": "invalid", "type": "value_error"}
            ],
        )
    return key


def request_fingerprint(body: dict[str, Any]) -> str:
    canonical = json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


async def replay(session: AsyncSession, org_id: int, key: str, fingerprint: str) -> Response | None:
    """The stored response for this key, or None when the key is new."""
    record = await session.get(IdempotencyRecord, (org_id, key))
    if record is None:
        return None
    if record.request_hash != fingerprint:
        raise IdempotencyKeyReused("this Idempotency-Key was used with a different body")
    headers = {"Idempotent-Replayed": "true"}
    if record.etag:
        headers["ETag"] = record.etag
    return Response(
        record.response_body,
        status_code=record.status_code,
        media_type="application/json",
        headers=headers,
    )


async def remember(
    session: AsyncSession,
    org_id: int,
    key: str,
    fingerprint: str,
    status_code: int,
    body: str,
    etag: str | None,
) -> None:
    session.add(
        IdempotencyRecord(
            organisation_id=org_id,
            key=key,
            request_hash=fingerprint,
            status_code=status_code,
            response_body=body,
            etag=etag,
        )
    )
    await session.flush()


Create = Callable[[UnitOfWork], Awaitable[tuple[BaseModel, int, str]]]


async def idempotent_create(
    request: Request,
    actor: Actor,
    body: BaseModel,
    create: Create,
    *,
    stored: Callable[[BaseModel], BaseModel] | None = None,
    key: str | None = None,
) -> Response:
    """Run a create once per ``Idempotency-Key`` in its own unit of work; answer its 201
    (or the stored replay) once that unit of work has committed.

    ``create`` returns the resource, its version (for the ETag) and its location. The unit
    of work holds the write lock before the key is looked up, so two concurrent retries
    cannot both miss the record. ``stored`` gives what a replay answers when that must
    differ from the first answer (a client's secret is shown once and never stored).
    ``key`` is the key a console form carries in a hidden field instead of the header.
    """
    key = idempotency_key(request) if key is None else checked_key(key)
    assert actor.org_id is not None
    fingerprint = request_fingerprint(body.model_dump(mode="json"))
    async with writing(request, actor) as uow:
        replayed = (
            None if key is None else await replay(uow.session, actor.org_id, key, fingerprint)
        )
        if replayed is not None:
            return replayed
        resource, version, location = await create(uow)
        if key is not None:
            kept = (resource if stored is None else stored(resource)).model_dump_json()
            await remember(uow.session, actor.org_id, key, fingerprint, 201, kept, etag(version))
    return resource_response(resource, version, status_code=201, headers={"Location": location})
