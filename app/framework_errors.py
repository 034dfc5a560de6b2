"""Problems the HTTP layer and the probes answer, outside any service.

They are AppErrors only so that their problem types are documented like every other one
(``/problems/{slug}``); the handlers in app/problems.py and app/request_context.py name
them by their ``type_slug``.
"""

from __future__ import annotations

from app.errors import AppError


class HeadersTooLarge(AppError):
    status = 431
    type_slug = "headers-too-large"
    title = "Request headers too large"
    description = "The request's headers together are larger than the service accepts."
    remedy = "Send fewer or shorter headers (cookies, long custom headers) and try again."


class MethodNotAllowed(AppError):
    status = 405
    type_slug = "method-not-allowed"
    title = "Method Not Allowed"
    description = "The path exists but does not serve this HTTP method."
    remedy = "Use one of the methods the Allow header of the answer lists."


class HttpError(AppError):
    type_slug = "http-error"
    title = "HTTP error"
    description = (
        "The HTTP layer refused the request before it reached the registry's logic, for a "
        "reason no more specific problem type covers; title and status say which."
    )
    remedy = "Read title and detail, correct the request; do not retry it unchanged."


class NotReady(AppError):
    status = 503
    type_slug = "not-ready"
    title = "Not ready"
    description = (
        "The readiness check (GET /readyz) failed: the database is unreachable, its schema is "
        "not the one this version expects, or the listing index is stale. detail says which."
    )
    remedy = (
        "Load balancers take this instance out of rotation and retry later; operators read "
        "detail and the service log."
    )


class InternalError(AppError):
    status = 500
    type_slug = "internal-error"
    title = "Internal error"
    description = (
        "An unexpected fault in the service. It is logged with the request id; the answer "
        "deliberately says nothing more."
    )
    remedy = (
        "Retry with backoff (writes only with the same Idempotency-Key). If it persists, report "
        "the X-Request-ID of the answer to the operator."
    )
