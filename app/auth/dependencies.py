"""Bearer-token authentication and scope checks, shared by every domain's ``auth.py``.

The check is all in memory: a verified-token cache (bounded by each token's ``exp``) and the
mirror's view of clients and organisations, which follows revocations through the change
feed. Nothing here is synchronous, so no threadpool hop is added to a request.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.dependencies.models import Dependant
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2

from app.auth.actor import Actor
from app.auth.scopes import SCOPE_DESCRIPTIONS, Scope
from app.auth.tokens import InvalidToken, verify_token
from app.errors import InsufficientScope, Unauthenticated
from app.request_context import request_id_var
from app.runtime import Runtime

oauth2_scheme = OAuth2(
    flows=OAuthFlows(
        clientCredentials=OAuthFlowClientCredentials(
            tokenUrl="/v1/oauth/token",
            scopes={scope.value: text for scope, text in SCOPE_DESCRIPTIONS.items()},
        )
    ),
    scheme_name="OAuth2",
    auto_error=False,
)


async def authenticate(runtime: Runtime, authorization: str | None) -> Actor:
    """The caller behind a valid bearer token whose client and organisation are active."""
    if not authorization:
        raise Unauthenticated("missing bearer token")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("expected 'Authorization: Bearer <token>'")
    now = int(time.time())
    claims = runtime.token_cache.get(token, now)
    if claims is None:
        settings = runtime.settings
        try:
            claims = verify_token(
                runtime.keys,
                token,
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                now=now,
                max_lifetime=settings.token_ttl_seconds,
            )
        except InvalidToken as exc:
            raise Unauthenticated(exc.reason) from None
        runtime.token_cache.put(token, claims)
    principal = runtime.mirror.principals.get(claims.sub)
    if principal is None or not principal.active or principal.org_code != claims.org:
        raise Unauthenticated("client revoked or organisation deactivated")
    if claims.iat < principal.tokens_from:
        raise Unauthenticated("token issued before the organisation was reactivated")
    actor = Actor(
        org_id=principal.org_id,
        org_code=principal.org_code,
        org_kind=principal.org_kind,
        institution=principal.institution,
        client_id=principal.client_id,
        jti=claims.jti,
        request_id=request_id_var.get(),
        # A scope counts only while the token carries it and the client still holds it.
        scopes=claims.scopes & principal.scopes,
    )
    await runtime.limiter.check_request(actor)
    return actor


def require(*scopes: Scope) -> Any:
    """A dependency admitting a caller who holds at least one of ``scopes``."""
    wanted = tuple(scopes)

    # One dependency level on top of the scheme: each level costs time on the lookup path.
    async def authorise(
        request: Request, authorization: Annotated[str | None, Depends(oauth2_scheme)]
    ) -> Actor:
        actor = await authenticate(request.app.state.runtime, authorization)
        if not any(scope in actor.scopes for scope in wanted):
            raise InsufficientScope(*wanted)
        return actor

    authorise.__name__ = "require_" + "_or_".join(s.replace(":", "_") for s in wanted)
    authorise.required_scopes = wanted  # type: ignore[attr-defined]
    return Security(authorise, scopes=[s.value for s in wanted])


def route_scopes(dependant: Dependant) -> tuple[Scope, ...] | None:
    """The scopes a route's ``require`` dependency accepts, or None for an open route."""
    for sub in dependant.dependencies:
        wanted = getattr(sub.call, "required_scopes", None)
        if wanted is not None:
            return tuple(wanted)
        found = route_scopes(sub)
        if found is not None:
            return found
    return None


async def authorise_before_body(request: Request) -> None:
    """Check token and scope for a request whose body could not even be parsed.

    FastAPI reads the body before it runs dependencies, so a malformed body would be
    reported before the token is looked at; a caller without access must learn nothing
    about the operation, not even that its body is malformed. Raises the 401/403 it gets.
    """
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    wanted = route_scopes(dependant) if dependant is not None else None
    if wanted is None:
        return
    actor = await authenticate(request.app.state.runtime, request.headers.get("authorization"))
    if not any(scope in actor.scopes for scope in wanted):
        raise InsufficientScope(*wanted)
