"""Who may scrape ``GET /metrics``: a caller with ``REGISTRY_METRICS_TOKEN`` as bearer."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.errors import Unauthenticated

metrics_bearer = HTTPBearer(
    scheme_name="MetricsToken",
    description="The value of REGISTRY_METRICS_TOKEN (not an OAuth token).",
    auto_error=False,
)


async def require_metrics_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(metrics_bearer)],
) -> None:
    """401 unless the bearer token is the configured one (compared in constant time).

    With no token configured every scrape is refused: the metrics are never public.
    """
    expected = request.app.state.runtime.settings.metrics_token
    if expected is None:
        raise Unauthenticated("no metrics token is configured (REGISTRY_METRICS_TOKEN)")
    if credentials is None:
        raise Unauthenticated("missing bearer token")
    given = credentials.credentials.encode("utf-8", "surrogateescape")
    if not hmac.compare_digest(given, expected.get_secret_value().encode()):
        raise Unauthenticated("invalid metrics token")


MetricsScraper = Annotated[None, Security(require_metrics_token)]
