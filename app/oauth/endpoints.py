from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.db.session import ReadSession
from app.errors import AppError, InvalidInput, RateLimited, ServiceUnavailable
from app.oauth.errors import NO_STORE, OAuthError, invalid_request, oauth_error_responses
from app.oauth.form import FORM_TYPE, GRANT_TYPE, MAX_LENGTHS, read_token_request
from app.oauth.schemas import TokenResponse
from app.oauth.service import issue_access_token

log = logging.getLogger(__name__)

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def _as_oauth_error(exc: Exception) -> OAuthError:
    """What an error raised while answering a token request means to an OAuth client."""
    if isinstance(exc, OAuthError):
        return exc
    if isinstance(exc, RateLimited):
        return OAuthError("temporarily_unavailable", exc.detail, status=429, headers=exc.headers)
    if isinstance(exc, InvalidInput):
        # The application-wide query check: the token endpoint takes no query parameters.
        names = ", ".join(str(e["loc"][-1]) for e in exc.errors or [])
        return invalid_request(f"the token endpoint takes no query parameters: {names}")
    if isinstance(exc, RequestValidationError):
        return invalid_request("the request is not valid")
    if isinstance(exc, ServiceUnavailable):
        return OAuthError("temporarily_unavailable", exc.detail, status=503, headers=exc.headers)
    if isinstance(exc, DBAPIError | PoolTimeout | OSError):
        log.warning("database unavailable: %s", type(exc).__name__)
        headers = {"Retry-After": "1"}
        return OAuthError("temporarily_unavailable", "retry shortly", status=503, headers=headers)
    if isinstance(exc, AppError) and exc.status < 500:
        return invalid_request(exc.detail)
    log.exception("unhandled error at the token endpoint", exc_info=exc)
    return OAuthError("server_error", "internal error", status=500)


class TokenRoute(APIRoute):
    """Answers every request of its route the RFC 6749 way: OAuth errors, no-store."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                response = await handler(request)
            except Exception as exc:  # every error of this route has the OAuth shape
                response = _as_oauth_error(exc).response()
            response.headers.update(NO_STORE)
            return response

        return answer


# Public by design: the client authenticates with its credentials, not a bearer token.
router = APIRouter(tags=["auth"])
token_router = APIRouter(tags=["auth"], route_class=TokenRoute)

_FORM_SCHEMA = {
    "type": "object",
    "required": ["grant_type"],
    "properties": {
        "grant_type": {"type": "string", "enum": [GRANT_TYPE]},
        "client_id": {
            "type": "string",
            "maxLength": MAX_LENGTHS["client_id"],
            "description": "with client_secret, unless HTTP Basic is used",
        },
        "client_secret": {"type": "string", "maxLength": MAX_LENGTHS["client_secret"]},
        "scope": {
            "type": "string",
            "maxLength": MAX_LENGTHS["scope"],
            "description": "space-separated scopes; without it, all the client's scopes",
        },
    },
}
_FORM_EXAMPLE = {
    "grant_type": GRANT_TYPE,
    "client_id": "cli_0123456789abcdef",
    "client_secret": "s3cr3t-from-registry-client-create",
    "scope": "lookup",
}


@token_router.post(
    "/v1/oauth/token",
    response_model=TokenResponse,
    responses=oauth_error_responses(),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {FORM_TYPE: {"schema": _FORM_SCHEMA, "example": _FORM_EXAMPLE}},
        }
    },
)
async def token(request: Request, session: ReadSession) -> Any:
    """Exchange client credentials for a short-lived access token (RFC 6749 §4.4).

    Send `grant_type=client_credentials` as an `application/x-www-form-urlencoded` body,
    with the credentials either as HTTP Basic (`Authorization: Basic
    base64(urlencode(client_id):urlencode(client_secret))`, RFC 6749 §2.3.1) or as the
    form fields `client_id` and `client_secret`, not both. `scope` (space-separated)
    narrows the token to some of the client's scopes; without it the token carries all
    of them.

    Errors follow RFC 6749 §5.2: `application/json` `{"error", "error_description"}` with
    `invalid_request`, `unsupported_grant_type` or `invalid_scope` (400) and
    `invalid_client` (401, with `WWW-Authenticate: Basic` when Basic was used). Failed
    authentications are limited per `client_id` and per source address (429
    `temporarily_unavailable` with `Retry-After`, answered before the secret is checked).
    Every answer carries `Cache-Control: no-store` and `Pragma: no-cache`.
    """
    form = await read_token_request(request)
    address = request.client.host if request.client else "unknown"
    return await issue_access_token(session, request.app.state.runtime, form=form, address=address)


@router.get("/.well-known/jwks.json", tags=["auth"])
async def jwks(request: Request) -> dict[str, Any]:
    """The public keys that verify access tokens (ES256), current and recently rotated."""
    keys: dict[str, Any] = request.app.state.runtime.keys.jwks()
    return keys
