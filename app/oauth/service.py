"""Issuing access tokens to authenticated clients (RFC 6749 §4.4)."""

from __future__ import annotations

import time

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import parse_scopes, scopes_for_kind
from app.auth.tokens import issue_token
from app.errors import InvalidClient
from app.oauth.errors import OAuthError, invalid_client
from app.oauth.failures import FailedAuthLimit
from app.oauth.form import TokenRequest
from app.oauth.schemas import TokenResponse
from app.organisations.service import authenticate_client
from app.runtime import Runtime


async def issue_access_token(
    session: AsyncSession,
    runtime: Runtime,
    *,
    form: TokenRequest,
    address: str,
) -> TokenResponse:
    """Authenticate the client and issue a JWT with the requested (or all its) scopes.

    The failed-authentication limit is checked first (429), so a refused attempt never
    reaches scrypt. Unknown client, wrong secret, revoked client and deactivated
    organisation are all ``invalid_client``; a scope the client does not hold (or that
    does not exist) is ``invalid_scope``, checked only once the client is authenticated.
    """
    limit = FailedAuthLimit.token_endpoint(runtime.limiter.store, runtime.settings)
    counted = await limit.begin(form.client_id, address)
    try:
        client, org = await authenticate_client(session, form.client_id, form.client_secret)
    except InvalidClient as exc:
        raise invalid_client(exc.detail, basic=form.basic) from None
    if counted:
        await limit.succeeded(form.client_id, address)
    held = [s for s in client.scopes.split() if s in scopes_for_kind(org.kind)]
    if form.scope is None or not form.scope.strip():
        granted = held
    else:
        requested = parse_scopes(form.scope)
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
