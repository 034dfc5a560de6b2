"""One error hierarchy, rendered as RFC 9457 problem+json by one handler."""

from __future__ import annotations

import math
import re
from typing import Any, ClassVar

# Problem ``type`` URIs are relative: the service itself serves /problems/{slug} (app/apidocs).
PROBLEM_BASE = "/problems/"
_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_DOCUMENTED = ("title", "description", "remedy")


class AppError(Exception):
    """Base of every error a service may raise; carries its HTTP status and problem type.

    A class that names a new ``type_slug`` must also give its ``title``, ``description``
    (what the problem means) and ``remedy`` (what the client should do): they are the page
    served at ``/problems/{slug}``, so no problem type can go undocumented. A subclass that
    keeps its parent's slug may change the title, never the status.
    """

    status: ClassVar[int] = 400
    type_slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"
    description: ClassVar[str] = (
        "The request cannot be processed as sent: it is malformed in a way no more specific "
        "problem type describes."
    )
    remedy: ClassVar[str] = "Read detail, correct the request and send it again; never as is."

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__
        if "type_slug" in own:
            missing = [name for name in _DOCUMENTED if name not in own]
            if missing or not _SLUG.match(cls.type_slug):
                raise TypeError(f"{cls.__name__}: a new problem type needs {_DOCUMENTED}")
        elif "status" in own:
            raise TypeError(f"{cls.__name__}: a new status needs its own type_slug")

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
    description = (
        "The request was understood but a field is missing, has the wrong type or format, "
        "or names something the registry does not know (for instance an unknown institution "
        "code). errors lists each offending field by its location; the rejected values are "
        "never echoed back."
    )
    remedy = "Fix each field named in errors and send the request again; never retry it unchanged."


class NotFound(AppError):
    status = 404
    type_slug = "not-found"
    title = "Not found"
    description = (
        "There is no such object or route, or the object exists but your organisation may not "
        "see it: the two are answered alike so that an identifier's existence does not leak."
    )
    remedy = (
        "Check the path and the identifier; do not retry. (A lookup of a payee the registry "
        "does not list is no 404: it answers 200 with listed false.)"
    )


class Unauthenticated(AppError):
    status = 401
    type_slug = "invalid-token"
    title = "Missing or invalid access token"
    description = (
        "The request carries no bearer token, or its token is malformed, expired, signed by an "
        "unknown key, or belongs to a revoked client or a deactivated organisation."
    )
    remedy = (
        "Fetch a new token at POST /v1/oauth/token and retry once; if that fails too, "
        "ask the operator whether your client is still active."
    )

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


class InvalidClient(AppError):
    """Bad client id or secret: the token endpoint answers it as RFC 6749 invalid_client."""

    status = 401
    type_slug = "invalid-client"
    title = "Client authentication failed"
    description = (
        "The token endpoint did not accept the client id and secret: the client is unknown, "
        "the secret is wrong, or the client was revoked."
    )
    remedy = (
        "Check the credentials in your secret store; do not retry in a loop (repeated failures "
        "are rate limited). Ask the operator for a new secret if it was lost or rotated."
    )


class InsufficientScope(AppError):
    status = 403
    type_slug = "insufficient-scope"
    title = "The token lacks the scope this operation needs"
    description = (
        "The token is valid but was not issued with the scope the operation requires; detail "
        "and the WWW-Authenticate header name the accepted scopes."
    )
    remedy = (
        "Request a token with that scope if your client holds it; otherwise ask the operator. "
        "Do not retry with the same token."
    )

    def __init__(self, *scopes: str) -> None:
        # RFC 6750 §3: the challenge's scope attribute is a space-delimited list.
        accepted = " ".join(scopes)
        super().__init__(
            "requires scope " + " or ".join(repr(str(s)) for s in scopes),
            headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{accepted}"'},
        )


class CursorAhead(AppError):
    """The feed cursor is past the registry version: the registry was restored from a backup.

    The client must resynchronise (from 0, or from a version it knows the registry has)
    instead of silently skipping every change made after the restore.
    """

    status = 409
    type_slug = "cursor-ahead"
    title = "Cursor is ahead of the registry version"
    description = (
        "The change-feed cursor you sent (after) is beyond the registry's current version "
        "(registry_version in the answer). This happens when the registry was restored from a "
        "backup: changes you hold may no longer exist there."
    )
    remedy = (
        "Resynchronise: read the feed again from 0 (or from a version at most registry_version) "
        "and replace your local copy; never just skip ahead."
    )

    def __init__(self, after: int, registry_version: int) -> None:
        super().__init__(
            f"after={after} is beyond registry version {registry_version}; resynchronise"
        )
        self.extra = {"registry_version": registry_version}


class Conflict(AppError):
    status = 409
    type_slug = "conflict"
    title = "Conflict"
    description = (
        "The request conflicts with the current state of the registry, for instance an object "
        "that already exists or is deactivated, or a concurrent change that won the race."
    )
    remedy = "Read the current state (detail names the object), decide, then send a new request."


class PreconditionRequired(AppError):
    status = 428
    type_slug = "precondition-required"
    title = "If-Match header required"
    description = (
        "This change must name the version it is based on, so that two writers cannot "
        "overwrite each other, and the request carried no If-Match header."
    )
    remedy = "Read the object, then send the change again with If-Match set to the ETag you read."


class StaleVersion(AppError):
    status = 412
    type_slug = "stale-version"
    title = "The resource changed since the version you sent"
    description = (
        "The If-Match you sent is not the object's current version: someone changed it after "
        "you read it. The answer's ETag header is the current version."
    )
    remedy = "Read the object again, re-apply your change to what you read, and send its ETag."


class IdempotencyKeyReused(AppError):
    status = 422
    type_slug = "idempotency-key-reused"
    title = "Idempotency-Key was already used with a different request"
    description = (
        "A create with this Idempotency-Key was already made with a different body. The same "
        "key and the same body answer the first result again; a different body is refused."
    )
    remedy = "Use a new Idempotency-Key for each distinct request; reuse a key only for retries."


class PayloadTooLarge(AppError):
    status = 413
    type_slug = "payload-too-large"
    title = "Request body too large"
    description = "The request body is larger than the service accepts; it was not read further."
    remedy = "Send a smaller body, for instance split a batch into several requests."


class ServiceUnavailable(AppError):
    status = 503
    type_slug = "unavailable"
    title = "Service temporarily unavailable"
    description = (
        "The registry could not answer now, typically because its database is briefly "
        "unreachable or overloaded. Nothing was changed by the failed request."
    )
    remedy = (
        "Wait Retry-After seconds and retry with backoff; retry writes only with the same "
        "Idempotency-Key. A payment check should follow your institution's fallback rule."
    )

    def __init__(self, detail: str | None = None, retry_after: int = 1) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class RateLimited(AppError):
    status = 429
    type_slug = "rate-limited"
    title = "Too many requests"
    description = (
        "Your client sent more requests than its rate limit allows in the current window, or "
        "failed to authenticate too often."
    )
    remedy = "Wait the number of seconds in Retry-After, then retry; spread requests over time."

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
