"""The ``POST /v1/lookup`` and ``/v1/lookup/batch`` hot paths, served without the framework.

A bank calls the lookup before every transfer, so each microsecond counts. This ASGI layer
answers the common case itself: a valid body, a valid token with the ``lookup`` scope. Any
body that does not validate is handed, untouched, to the FastAPI route, which produces the
exact same 422 it always would (so there is one source of truth for errors); every other
error is an ``AppError`` rendered by the same problem+json function the app uses. The
FastAPI route stays registered: it documents the endpoint in OpenAPI and serves fallbacks.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth.dependencies import authenticate
from app.auth.scopes import Scope as ApiScope
from app.errors import AppError, InsufficientScope, ServiceUnavailable
from app.problems import problem
from app.subjects.answer import encode
from app.subjects.batch import answer_batch
from app.subjects.schemas import MAX_BATCH_ITEMS, SubjectIn
from app.subjects.service import answer_one, identify

PATH = "/v1/lookup"
BATCH_PATH = "/v1/lookup/batch"


class LookupFastPath:
    """``enabled=False`` (``REGISTRY_LOOKUP_FAST_PATH=false``) hands every request to the
    framework: the routes' own code then answers, which tests compare with this path."""

    def __init__(self, app: ASGIApp, *, api: FastAPI, enabled: bool = True) -> None:
        self.app = app
        self.api = api
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            not self.enabled
            or scope["type"] != "http"
            or scope["path"] not in (PATH, BATCH_PATH)
            or scope["method"] != "POST"
            # Query parameters are none of this path's business: the framework's check
            # answers them (the lookups declare none, so any is a 422).
            or scope["query_string"]
        ):
            await self.app(scope, receive, send)
            return
        body, more = await _read_body(receive)
        request: SubjectIn | list[Any] | None = None
        if not more and _is_json(scope):
            request = _subject(body) if scope["path"] == PATH else _batch_items(body)
        if request is None:
            await self.app(scope, _replay(body, more, receive), send)
            return
        try:
            payload = await self._answer(scope, request)
        except (SQLAlchemyError, OSError):
            exc = ServiceUnavailable("database temporarily unavailable")
            await problem(exc.status, exc.type_slug, exc.title, exc.detail, headers=exc.headers)(
                scope, receive, send
            )
            return
        except AppError as exc:
            response = problem(
                exc.status,
                exc.type_slug,
                exc.title,
                exc.detail,
                errors=exc.errors,
                headers=exc.headers,
            )
            await response(scope, receive, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    async def _answer(self, scope: Scope, request: SubjectIn | list[Any]) -> bytes:
        runtime = self.api.state.runtime
        actor = await authenticate(runtime, _header(scope, b"authorization"))
        if ApiScope.LOOKUP not in actor.scopes:
            raise InsufficientScope(ApiScope.LOOKUP)
        if not runtime.mirror.fresh and not await runtime.mirror.ensure_fresh():
            raise ServiceUnavailable("listing index is not in step with the database")
        if isinstance(request, list):
            return await answer_batch(runtime, actor, request)
        key = identify(request).key
        await runtime.limiter.check_identifiers(actor, [key])
        return encode(await answer_one(runtime, actor, key))


def _subject(body: bytes) -> SubjectIn | None:
    try:
        return SubjectIn.model_validate_json(body)
    except ValidationError:
        return None


def _batch_items(body: bytes) -> list[Any] | None:
    """The items of a batch body that ``BatchLookupRequest`` accepts, else None.

    None hands the body to the framework, whose validation says what is wrong; a body
    this accepts, the framework would accept too (an object with exactly ``items``: a
    list of 1-1,000 objects). Items are checked one by one later, each to its own error.
    """
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if type(parsed) is not dict or parsed.keys() != {"items"}:
        return None
    items = parsed["items"]
    if type(items) is not list or not 1 <= len(items) <= MAX_BATCH_ITEMS:
        return None
    if not all(type(item) is dict for item in items):
        return None
    return items


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _is_json(scope: Scope) -> bool:
    content_type = _header(scope, b"content-type") or ""
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """The whole body, or what was read before a disconnect or the size limit tripped."""
    chunks: list[bytes] = []
    try:
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks), True
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                return b"".join(chunks), False
    except AppError:
        return b"".join(chunks), True  # over the limit: the framework path says 413


def _replay(body: bytes, more: bool, receive: Receive) -> Receive:
    """Hand the framework the body already read, then the rest of the stream, if any."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            message: dict[str, Any] = {"type": "http.request", "body": body, "more_body": more}
            return message
        return await receive()

    return replay
