from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import APIRouter, Form, Request

from app.db.session import ReadSession
from app.errors import InvalidClient, RateLimited, problem_responses
from app.oauth.schemas import TokenResponse
from app.oauth.service import OAuthError, issue_access_token
from app.text import Text, is_clean

# Public by design: the client authenticates with its credentials, not a bearer token.
router = APIRouter(tags=["auth"])


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidClient("malformed HTTP Basic credentials") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise InvalidClient("malformed HTTP Basic credentials")
    # RFC 6749 §2.3.1: both parts are form-urlencoded inside Basic.
    client_id, secret = unquote(client_id), unquote(secret)
    if not (is_clean(client_id) and is_clean(secret)):  # "%00" would reach the database
        raise InvalidClient("malformed HTTP Basic credentials")
    return client_id, secret


@router.post(
    "/v1/oauth/token",
    response_model=TokenResponse,
    responses=problem_responses(OAuthError, InvalidClient, RateLimited),
)
async def token(
    request: Request,
    session: ReadSession,
    grant_type: Annotated[Text, Form(max_length=64)],
    client_id: Annotated[Text | None, Form(max_length=64)] = None,
    client_secret: Annotated[Text | None, Form(max_length=512)] = None,
    scope: Annotated[Text | None, Form(max_length=400)] = None,
) -> Any:
    """Exchange client credentials for a short-lived access token (RFC 6749 §4.4).

    Send `grant_type=client_credentials` as a form body, with the credentials either as
    HTTP Basic (`Authorization: Basic base64(client_id:client_secret)`) or as the form
    fields `client_id` and `client_secret`. `scope` (space-separated) narrows the token to
    some of the client's scopes; without it the token carries all of them.

    Failed authentications are limited per `client_id` and per source address (429 with
    `Retry-After`, answered before the secret is checked).
    """
    if grant_type != "client_credentials":
        raise OAuthError("unsupported_grant_type", "only client_credentials is supported")
    credentials = _basic_credentials(request)
    if credentials is None:
        if not client_id or client_secret is None:
            raise InvalidClient("client credentials missing")
        credentials = (client_id, client_secret)
    runtime = request.app.state.runtime
    address = request.client.host if request.client else "unknown"
    return await issue_access_token(
        session,
        runtime,
        client_id=credentials[0],
        secret=credentials[1],
        scope=scope,
        address=address,
    )


@router.get("/.well-known/jwks.json", tags=["auth"])
async def jwks(request: Request) -> dict[str, Any]:
    """The public keys that verify access tokens (ES256), current and recently rotated."""
    keys: dict[str, Any] = request.app.state.runtime.keys.jwks()
    return keys
