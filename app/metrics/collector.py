"""What a scrape reads: the recorded metrics, plus gauges computed at that moment.

The gauges (index staleness, warning queue, pool use, audit head) cost nothing on the hot
path: they are read from the runtime when ``GET /metrics`` is answered, and the audit head
with one primary-key read of ``registry_head``. They describe the process that answers
the scrape: under several workers each keeps its own index, queue and pool.

With ``PROMETHEUS_MULTIPROC_DIR`` set (``registry serve --workers N``, N > 1) the recorded
metrics are the sum over every worker's files (``MultiProcessCollector``); in one process
they are prometheus_client's default registry.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.metrics.multiprocess import MULTIPROC_ENV
from app.models import RegistryHead
from app.runtime import Runtime

log = logging.getLogger(__name__)

# A scrape must not hang on a database that stopped answering: the head is then omitted.
HEAD_QUERY_TIMEOUT_SECONDS = 1.0


@dataclass(frozen=True)
class Snapshot:
    """The runtime's gauges, read at one scrape."""

    index_staleness_seconds: float
    index_version: int
    warning_queue: int
    pools: dict[str, int] = field(default_factory=dict)
    audit_head: int | None = None  # None: the database did not answer in time


def _checked_out(engine: AsyncEngine) -> int | None:
    checkedout = getattr(engine.pool, "checkedout", None)
    return int(checkedout()) if callable(checkedout) else None


def pool_use(runtime: Runtime) -> dict[str, int]:
    """Connections checked out of each of the process's pools now."""
    db = runtime.db
    engines = {"write": db.write_engine, "read": db.read_engine}
    if db.read_engine is db.write_engine:
        engines = {"main": db.write_engine}
    if (writer := runtime.warnings.engine) is not None:
        engines["warnings"] = writer
    pools = {name: _checked_out(engine) for name, engine in engines.items()}
    return {name: n for name, n in pools.items() if n is not None}


async def audit_head(runtime: Runtime) -> int | None:
    """The chain's head ``seq`` (one primary-key read), or None if the database fails."""
    try:
        async with asyncio.timeout(HEAD_QUERY_TIMEOUT_SECONDS):
            async with runtime.db.read_session() as session:
                head = (await session.execute(select(RegistryHead.seq))).scalar_one_or_none()
    except Exception:  # any database fault: the scrape still answers, without the head
        log.warning("metrics: could not read the audit head", exc_info=True)
        return None
    return int(head or 0)


async def take_snapshot(runtime: Runtime) -> Snapshot:
    mirror = runtime.mirror
    # Pools first, so the scrape's own connection is not counted.
    pools = pool_use(runtime)
    staleness = max(0.0, time.monotonic() - mirror.synced_at)
    version = mirror.seq
    queued = runtime.warnings.queued
    return Snapshot(staleness, version, queued, pools, await audit_head(runtime))


class RuntimeCollector(Collector):
    """Yields one snapshot's gauges (a fresh collector per scrape)."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        s = self.snapshot
        yield _gauge(
            "registry_index_staleness_seconds",
            "Seconds since this process's listing index last caught up with the database"
            " (lookups answer 503 above REGISTRY_INDEX_MAX_STALENESS_SECONDS).",
            s.index_staleness_seconds,
        )
        yield _gauge(
            "registry_index_version",
            "Registry version (audit seq) this process's listing index has applied.",
            s.index_version,
        )
        if s.audit_head is not None:
            yield _gauge(
                "registry_audit_head_seq",
                "The audit chain's head seq (registry version) in the database.",
                s.audit_head,
            )
            yield _gauge(
                "registry_index_versions_behind",
                "Change events committed that this process's index has not applied yet.",
                max(0, s.audit_head - s.index_version),
            )
        yield _gauge(
            "registry_database_up",
            "1 if the audit head could be read at this scrape, else 0.",
            0 if s.audit_head is None else 1,
        )
        yield _gauge(
            "registry_warning_queue_length",
            "Warnings waiting to be committed by this process's group-commit writer.",
            s.warning_queue,
        )
        pools = GaugeMetricFamily(
            "registry_db_pool_checked_out",
            "Database connections checked out of each of this process's pools.",
            labels=["pool"],
        )
        for name, count in sorted(s.pools.items()):
            pools.add_metric([name], count)
        yield pools


class _DefaultRegistry(Collector):
    """Forwards prometheus_client's default registry (the one-process case)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def multiprocess_dir() -> str | None:
    path = os.environ.get(MULTIPROC_ENV)
    return path if path and os.path.isdir(path) else None


def render(snapshot: Snapshot) -> bytes:
    """The exposition text of one scrape."""
    registry = CollectorRegistry(auto_describe=False)
    path = multiprocess_dir()
    if path is not None:
        MultiProcessCollector(registry, path=path)  # type: ignore[no-untyped-call]
    else:
        registry.register(_DefaultRegistry())
    registry.register(RuntimeCollector(snapshot))
    return generate_latest(registry)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)
