"""Issuing access tokens to authenticated clients (RFC 6749 §4.4)."""

from __future__ import annotations

import time

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import parse_scopes, scopes_for_kind
from app.auth.tokens import issue_token
from app.errors import AppError
from app.oauth.failures import FailedAuthLimit
from app.oauth.schemas import TokenResponse
from app.organisations.service import authenticate_client
from app.runtime import Runtime


class OAuthError(AppError):
    """An RFC 6749 §5.2 error, rendered as problem+json with the ``error`` code kept."""

    status = 400
    type_slug = "oauth-error"
    title = "Token request refused"

    def __init__(self, error: str, detail: str) -> None:
        super().__init__(detail)
        self.extra = {"error": error}


async def issue_access_token(
    session: AsyncSession,
    runtime: Runtime,
    *,
    client_id: str,
    secret: str,
    scope: str | None,
    address: str,
) -> TokenResponse:
    """Authenticate the client and issue a JWT with the requested (or all its) scopes.

    The failed-authentication limit is checked first (429), so a refused attempt never
    reaches scrypt.
    """
    limit = FailedAuthLimit(runtime.limiter.store, runtime.settings)
    counted = await limit.begin(client_id, address)
    client, org = await authenticate_client(session, client_id, secret)
    if counted:
        await limit.succeeded(client_id, address)
    held = [s for s in client.scopes.split() if s in scopes_for_kind(org.kind)]
    if scope is None or not scope.strip():
        granted = held
    else:
        requested = parse_scopes(scope)
        refused = [s for s in requested if s not in held]
        if refused:
            raise OAuthError("invalid_scope", f"scope not granted to this client: {refused[0]}")
        granted = requested
    settings = runtime.settings
    token, claims = issue_token(
        runtime.keys,
        client_id=client.client_id,
        org=org.code,
        scopes=granted,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl_seconds=settings.token_ttl_seconds,
        now=int(time.time()),
    )
    return TokenResponse(
        access_token=token, expires_in=claims.exp - claims.iat, scope=" ".join(sorted(granted))
    )
