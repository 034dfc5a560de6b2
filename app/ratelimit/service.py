"""Per-organisation limits: requests per second, and distinct identifiers looked up per
hour (an organisation walking the identifier space to learn which mule accounts are
listed). Crossing the second limit is also written to the audit chain, once per window.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from app.audit.vocabulary import Action, Change, EntityType
from app.auth.actor import Actor
from app.config import Settings
from app.db.engine import Database
from app.db.unit_of_work import unit_of_work
from app.errors import RateLimited
from app.ratelimit.windows import LocalWindows, RedisWindows, WindowStore

log = logging.getLogger(__name__)
IDENTIFIER_WINDOW = 3600


class Limiter:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.store: WindowStore = (
            RedisWindows(settings.redis_url) if settings.redis_url else LocalWindows()
        )
        self._audited: set[tuple[int, int]] = set()

    async def check_request(self, actor: Actor) -> None:
        """429 once the organisation passes its requests-per-second limit."""
        if actor.org_id is None:
            return
        try:
            total, remaining = await self.store.add_requests(actor.org_id, 1, 1)
        except Exception:  # the shared store is down: keep serving payments, say so
            log.warning("rate-limit store unavailable", exc_info=True)
            return
        if total > self.settings.rate_limit_per_second:
            raise RateLimited(
                f"more than {self.settings.rate_limit_per_second} requests/s", remaining
            )

    async def check_identifiers(self, actor: Actor, keys: Sequence[str]) -> None:
        """429 (and one audit event) once too many distinct identifiers were looked up."""
        if actor.org_id is None or not keys:
            return
        try:
            total, remaining = await self.store.add_identifiers(
                actor.org_id, keys, IDENTIFIER_WINDOW
            )
        except Exception:
            log.warning("rate-limit store unavailable", exc_info=True)
            return
        limit = self.settings.distinct_identifiers_per_hour
        if total <= limit:
            return
        window = int(time.time() // IDENTIFIER_WINDOW)
        if (actor.org_id, window) not in self._audited:
            self._audited.add((actor.org_id, window))
            await self._audit(actor, total, window)
        raise RateLimited(f"more than {limit} distinct identifiers looked up this hour", remaining)

    async def _audit(self, actor: Actor, total: int, window: int) -> None:
        change = Change(
            entity_type=EntityType.SECURITY,
            entity_id=f"enumeration:{actor.org_code}:{window}",
            entity_version=1,
            action=Action.ENUMERATION_BLOCKED,
            state={
                "organisation": actor.org_code,
                "distinct_identifiers": total,
                "limit": self.settings.distinct_identifiers_per_hour,
                "window_seconds": IDENTIFIER_WINDOW,
            },
        )
        async with unit_of_work(self.db, actor) as uow:
            await uow.record(change)
        log.warning("enumeration limit reached by %s", actor.org_code)

    async def close(self) -> None:
        if isinstance(self.store, RedisWindows):
            await self.store.close()
