"""RFC 9457 problem+json: the one shape of every error response."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from app.auth.dependencies import authorise_before_body
from app.errors import PROBLEM_BASE, AppError, Conflict, InvalidInput, NotFound, ServiceUnavailable
from app.framework_errors import HttpError, InternalError, MethodNotAllowed
from app.text import safe_loc

log = logging.getLogger(__name__)

# What FastAPI raises (as a 400) when the body cannot be decoded at all.
BODY_PARSE_ERROR = "There was an error parsing the body"


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[dict[str, Any]] | None = Field(default=None)


class ProblemResponse(JSONResponse):
    media_type = "application/problem+json"

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            # Last resort: a lone surrogate in a message must not turn a 4xx into a 500.
            # The sources never echo one (app.text); this keeps a future slip harmless.
            text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
            return text.encode("utf-8", "replace")


def problem(
    status: int,
    type_slug: str,
    title: str,
    detail: str | None = None,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> ProblemResponse:
    body: dict[str, Any] = {"type": PROBLEM_BASE + type_slug, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors is not None:
        body["errors"] = errors
    if extra:
        body.update(extra)
    return ProblemResponse(body, status_code=status, headers=headers)


def _clean_errors(errors: Any) -> list[dict[str, Any]]:
    # Echoing the rejected input back could leak or amplify it: name the field, not the value.
    return [
        {
            "loc": safe_loc(e.get("loc", ())),
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type")),
        }
        for e in errors
    ]


async def _app_error(_: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, AppError)
    return problem(
        exc.status,
        exc.type_slug,
        exc.title,
        exc.detail,
        errors=exc.errors,
        headers=exc.headers,
        extra=exc.extra,
    )


async def _gate(request: Request) -> ProblemResponse | None:
    """The 401/403 a caller without access gets instead of a body-parsing error, if any."""
    try:
        await authorise_before_body(request)
    except AppError as exc:
        return await _app_error(request, exc)
    return None


async def _validation_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, RequestValidationError)
    raw = exc.errors()
    if any(e.get("type") == "json_invalid" for e in raw) and (denied := await _gate(request)):
        return denied
    errors = _clean_errors(raw)
    fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors[:5])
    return problem(
        422, InvalidInput.type_slug, InvalidInput.title, f"invalid fields: {fields}", errors=errors
    )


async def _http_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 400 and exc.detail == BODY_PARSE_ERROR:
        # Not JSON at all (for instance invalid UTF-8): the same 422 as malformed JSON.
        if denied := await _gate(request):
            return denied
        message = "body is not valid UTF-8 JSON"
        errors = [{"loc": ["body"], "msg": message, "type": "json_invalid"}]
        return problem(422, InvalidInput.type_slug, InvalidInput.title, message, errors=errors)
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    slug = {404: NotFound.type_slug, 405: MethodNotAllowed.type_slug}.get(
        exc.status_code, HttpError.type_slug
    )
    return problem(exc.status_code, slug, str(exc.detail), headers=headers)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    # Included routers are not plain Routes in app.routes: walk the effective routes.
    for route in iter_route_contexts(request.app.router.routes):
        regex, served = getattr(route, "path_regex", None), route.methods
        mounted = route.original_route
        if isinstance(mounted, Mount) and isinstance(mounted.app, StaticFiles):
            served = {"GET", "HEAD"}  # the docs' assets (app/apidocs/assets.py)
        if served and regex is not None and regex.match(request.url.path):
            methods |= served
    return sorted(methods)


async def _database_unavailable(_: Request, exc: Exception) -> ProblemResponse:
    log.warning("database unavailable: %s", type(exc).__name__)
    return problem(
        503,
        ServiceUnavailable.type_slug,
        "Database temporarily unavailable",
        "retry shortly",
        headers={"Retry-After": "1"},
    )


async def _integrity_error(_: Request, exc: Exception) -> ProblemResponse:
    # Two writers raced for the same unique row; the loser retries or re-reads.
    log.info("integrity conflict: %s", type(exc).__name__)
    return problem(409, Conflict.type_slug, "Conflicting concurrent change", "retry the request")


async def _unexpected(_: Request, exc: Exception) -> ProblemResponse:
    log.exception("unhandled error", exc_info=exc)
    return problem(500, InternalError.type_slug, InternalError.title)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(PoolTimeout, _database_unavailable)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(DBAPIError, _database_unavailable)
    app.add_exception_handler(OSError, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected)
