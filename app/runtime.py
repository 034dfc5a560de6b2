"""What one process holds for its lifetime: settings, database, keys, mirror, caches."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request

from app.auth.keys import SigningKeys
from app.auth.tokens import TokenCache
from app.config import Settings
from app.db.engine import Database
from app.metrics.metrics import LookupMetrics
from app.portal.counter import PublicCheckCounter
from app.ratelimit.service import Limiter
from app.sync.mirror import RegistryMirror
from app.warnings.counter import LookupCounter
from app.warnings.writer import WarningWriter


@dataclass
class Runtime:
    settings: Settings
    db: Database
    keys: SigningKeys
    mirror: RegistryMirror
    limiter: Limiter
    warnings: WarningWriter
    token_cache: TokenCache = field(default_factory=TokenCache)
    counter: LookupCounter = field(default_factory=LookupCounter)
    # Citizens' checks on the portal and POST /v1/public/check, counted apart.
    public_counter: PublicCheckCounter = field(default_factory=PublicCheckCounter)
    # Prometheus counts of answered lookups (app.metrics); off unless metrics are enabled.
    lookup_metrics: LookupMetrics = field(default_factory=lambda: LookupMetrics(False))
    ready: bool = False
    schema_head: str | None = None

    def use_keys(self, keys: SigningKeys) -> None:
        """Sign and verify with ``keys`` from now on (a rotation seen in the database)."""
        self.keys = keys
        # A cached token was checked against the old key set (its retirement times).
        self.token_cache.clear()


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime
