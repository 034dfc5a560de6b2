"""One error hierarchy, rendered as RFC 9457 problem+json by one handler."""

from __future__ import annotations

import math
from typing import Any, ClassVar

PROBLEM_BASE = "https://registry.example.vn/problems/"


class AppError(Exception):
    """Base of every error a service may raise; carries its HTTP status and problem type."""

    status: ClassVar[int] = 400
    type_slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors
        self.headers = headers or {}
        # RFC 9457 extension members, e.g. the id of the object a 409 conflicts with.
        self.extra: dict[str, Any] = {}

    @property
    def type_uri(self) -> str:
        return PROBLEM_BASE + self.type_slug


class InvalidInput(AppError):
    status = 422
    type_slug = "validation-error"
    title = "Request is not valid"


class NotFound(AppError):
    status = 404
    type_slug = "not-found"
    title = "Not found"


class Unauthenticated(AppError):
    status = 401
    type_slug = "invalid-token"
    title = "Missing or invalid access token"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


class InvalidClient(AppError):
    """RFC 6749 §5.2 invalid_client: bad client id or secret at the token endpoint."""

    status = 401
    type_slug = "invalid-client"
    title = "Client authentication failed"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Basic realm="registry"'})


class InsufficientScope(AppError):
    status = 403
    type_slug = "insufficient-scope"
    title = "The token lacks the scope this operation needs"

    def __init__(self, *scopes: str) -> None:
        # RFC 6750 §3: the challenge's scope attribute is a space-delimited list.
        accepted = " ".join(scopes)
        super().__init__(
            "requires scope " + " or ".join(repr(str(s)) for s in scopes),
            headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{accepted}"'},
        )


class Conflict(AppError):
    status = 409
    type_slug = "conflict"
    title = "Conflict"


class PreconditionRequired(AppError):
    status = 428
    type_slug = "precondition-required"
    title = "If-Match header required"


class StaleVersion(AppError):
    status = 412
    type_slug = "stale-version"
    title = "The resource changed since the version you sent"


class IdempotencyKeyReused(AppError):
    status = 422
    type_slug = "idempotency-key-reused"
    title = "Idempotency-Key was already used with a different request"


class PayloadTooLarge(AppError):
    status = 413
    type_slug = "payload-too-large"
    title = "Request body too large"


class ServiceUnavailable(AppError):
    status = 503
    type_slug = "unavailable"
    title = "Service temporarily unavailable"

    def __init__(self, detail: str | None = None, retry_after: int = 1) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class RateLimited(AppError):
    status = 429
    type_slug = "rate-limited"
    title = "Too many requests"

    def __init__(self, detail: str, retry_after: float) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, math.ceil(retry_after)))})


# Every authenticated endpoint can answer these.
AUTH_ERRORS: tuple[type[AppError], ...] = (Unauthenticated, InsufficientScope, RateLimited)


def problem_responses(*errors: type[AppError]) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` mapping that documents an endpoint's errors in OpenAPI."""
    out: dict[int | str, dict[str, Any]] = {}
    for error in errors:
        out[error.status] = {
            "description": error.title,
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            },
        }
    return out
