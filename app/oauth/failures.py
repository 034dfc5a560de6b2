"""Limits on failed client authentication at the token endpoint (SPEC §8 "Token endpoint").

Counted per fixed window in the rate-limit store (in process, or Redis for several workers):

- per source address: an address that failed too often is refused outright;
- per (client_id, address): guessing one client's secret from one address stops early;
- per client_id: once a client has failed too often in total, only the addresses that took
  part in those failures are refused. An address that has not failed for that client (the
  real client, elsewhere) still has its secret checked, so a flood cannot lock it out.

Every attempt is counted before the secret is checked (scrypt, ~50 ms of CPU) and taken
back when it succeeds, so a refused attempt costs one counter round trip only and concurrent
attempts cannot all slip under a limit while scrypt runs.
"""

from __future__ import annotations

import logging
import time

from app.config import Settings
from app.errors import RateLimited
from app.ratelimit.windows import WindowStore

log = logging.getLogger(__name__)


class FailedAuthLimit:
    """One kind of credential check's failure limits; ``client_id`` is whatever names the
    account tried (an API client's id, a console username)."""

    def __init__(
        self,
        store: WindowStore,
        *,
        prefix: str,
        window: int,
        per_address: int,
        per_pair: int,
        per_client: int,
    ) -> None:
        self.store = store
        self.prefix = prefix
        self.window = window
        self.per_address = per_address
        self.per_pair = per_pair
        self.per_client = per_client

    @classmethod
    def token_endpoint(cls, store: WindowStore, settings: Settings) -> FailedAuthLimit:
        return cls(
            store,
            prefix="tf",
            window=settings.token_failure_window_seconds,
            per_address=settings.token_failures_per_address,
            per_pair=settings.token_failures_per_client_address,
            per_client=settings.token_failures_per_client,
        )

    @classmethod
    def console_login(cls, store: WindowStore, settings: Settings) -> FailedAuthLimit:
        return cls(
            store,
            prefix="lf",
            window=settings.login_failure_window_seconds,
            per_address=settings.login_failures_per_address,
            per_pair=settings.login_failures_per_user_address,
            per_client=settings.login_failures_per_user,
        )

    def _keys(self, client_id: str, address: str) -> list[str]:
        client_id, p = client_id[:64], self.prefix
        return [f"{p}:a:{address}", f"{p}:p:{client_id}:{address}", f"{p}:c:{client_id}"]

    def _retry_after(self) -> float:
        now = time.time()
        return (int(now // self.window) + 1) * self.window - now

    async def begin(self, client_id: str, address: str) -> bool:
        """Count this attempt as a failure until it succeeds; 429 when it is over a limit.

        Call before checking the secret. Counting first (rather than after the check) keeps
        concurrent attempts from all slipping under the limit while scrypt runs. Returns
        whether the attempt was counted (False when the store is unavailable).
        """
        try:
            by_address, by_pair, by_client = await self.store.add_counts(
                self._keys(client_id, address), 1, self.window
            )
        except Exception:  # the shared store is down: authenticate, say so
            log.warning("rate-limit store unavailable", exc_info=True)
            return False
        if (
            by_address > self.per_address
            or by_pair > self.per_pair
            # This attempt is in by_pair: > 1 means the address failed for this client before.
            or (by_client > self.per_client and by_pair > 1)
        ):
            raise RateLimited("too many failed client authentications", self._retry_after())
        return True

    async def succeeded(self, client_id: str, address: str) -> None:
        """Take back the count of an attempt that authenticated."""
        try:
            await self.store.add_counts(self._keys(client_id, address), -1, self.window)
        except Exception:
            log.warning("rate-limit store unavailable", exc_info=True)
