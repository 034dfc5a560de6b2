"""Fixed-window counters: in process, or in Redis so every worker and host shares them.

The window is the current second (requests) or hour (distinct identifiers); keys expire
with their window, so nothing needs cleaning up.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from redis.asyncio import Redis


class WindowStore(Protocol):
    async def add_requests(self, org_id: int, n: int, window: int) -> tuple[int, float]:
        """Add ``n``; return the window's total and the seconds until it ends."""

    async def add_identifiers(
        self, org_id: int, keys: Iterable[str], window: int
    ) -> tuple[int, float]:
        """Add keys to the window's set; return its size and the seconds until it ends."""

    async def add_counts(self, keys: Iterable[str], n: int, window: int) -> list[int]:
        """Add ``n`` (negative takes back, 0 only reads) to each named counter of the current
        window; return their totals."""


def _window(window: int) -> tuple[int, float]:
    now = time.time()
    start = int(now // window) * window
    return start, start + window - now


class LocalWindows:
    """One process's counters (used when no Redis is configured)."""

    def __init__(self) -> None:
        self._requests: dict[tuple[int, int], int] = {}
        self._identifiers: dict[tuple[int, int], set[str]] = {}
        self._counts: dict[tuple[str, int, int], int] = {}

    async def add_requests(self, org_id: int, n: int, window: int) -> tuple[int, float]:
        start, remaining = _window(window)
        key = (org_id, start)
        total = self._requests.get(key, 0) + n
        if key not in self._requests and len(self._requests) > 10_000:
            self._requests = {k: v for k, v in self._requests.items() if k[1] == start}
        self._requests[key] = total
        return total, remaining

    async def add_identifiers(
        self, org_id: int, keys: Iterable[str], window: int
    ) -> tuple[int, float]:
        start, remaining = _window(window)
        seen = self._identifiers.get((org_id, start))
        if seen is None:
            # A new window: forget every older one.
            self._identifiers = {k: v for k, v in self._identifiers.items() if k[1] == start}
            seen = self._identifiers[(org_id, start)] = set()
        seen.update(keys)
        return len(seen), remaining

    async def add_counts(self, keys: Iterable[str], n: int, window: int) -> list[int]:
        start, _ = _window(window)
        totals = []
        for name in keys:
            key = (name, window, start)
            total = max(0, self._counts.get(key, 0) + n)
            if n:
                if key not in self._counts and len(self._counts) > 100_000:
                    self._counts = {k: v for k, v in self._counts.items() if k[2] == start}
                self._counts[key] = total
            totals.append(total)
        return totals


class RedisWindows:
    """Counters in Redis: one round trip (a pipeline) per check."""

    def __init__(self, url: str) -> None:
        # Imported only when Redis is configured: the client library costs ~20 MB per worker.
        from redis.asyncio import Redis

        self.redis: Redis = Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    async def add_requests(self, org_id: int, n: int, window: int) -> tuple[int, float]:
        start, remaining = _window(window)
        key = f"registry:rl:{org_id}:{window}:{start}"
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.incrby(key, n)
            pipe.expire(key, window + 1)
            total, _ = await pipe.execute()
        return int(total), remaining

    async def add_identifiers(
        self, org_id: int, keys: Iterable[str], window: int
    ) -> tuple[int, float]:
        start, remaining = _window(window)
        key = f"registry:ids:{org_id}:{window}:{start}"
        members = list(keys)
        async with self.redis.pipeline(transaction=False) as pipe:
            if members:
                pipe.sadd(key, *members)
            pipe.expire(key, window + 1)
            pipe.scard(key)
            results = await pipe.execute()
        return int(results[-1]), remaining

    async def add_counts(self, keys: Iterable[str], n: int, window: int) -> list[int]:
        start, _ = _window(window)
        names = [f"registry:n:{name}:{window}:{start}" for name in keys]
        async with self.redis.pipeline(transaction=False) as pipe:
            for name in names:
                if n:
                    pipe.incrby(name, n)
                    pipe.expire(name, window + 1)
                else:
                    pipe.get(name)
            results = await pipe.execute()
        values = results[::2] if n else results
        return [int(value or 0) for value in values]

    async def close(self) -> None:
        await self.redis.aclose()
