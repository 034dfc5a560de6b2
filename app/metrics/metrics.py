"""Every metric the registry records, defined once (README "Metrics" lists them).

They live in prometheus_client's default registry. Under ``registry serve --workers N``
(N > 1) the command sets ``PROMETHEUS_MULTIPROC_DIR`` before the workers start, so each
worker's values are kept in its own files there and a scrape adds them up
(``app.metrics.multiprocess``, ``app.metrics.collector``).

The request path never calls into prometheus_client: a lookup adds 1 to a plain list
slot, a request to its series' plain counters (``HttpSeries``), and ``flush`` moves the
sums into the metrics: before every scrape, every second (``run_flusher``, so the other
workers' files are current too) and when the process stops. A prometheus_client counter
``inc`` takes a lock and a histogram ``observe`` a lock and a scan of its bounds; per
lookup those cost several times what the plain additions do (bench/results/
metrics-overhead.md).
"""

from __future__ import annotations

import asyncio
import logging
from bisect import bisect_left
from collections.abc import Mapping, Sequence

from prometheus_client import Counter, Gauge, Histogram

from app.subjects.risk import ACTIONS
from app.sync.listing import Listing

log = logging.getLogger(__name__)

HTTP_LABELS = ("route", "method", "status")
HTTP_REQUESTS = Counter(
    "registry_http_requests",
    "HTTP requests answered, by route template, method and status.",
    HTTP_LABELS,
)
# From 0.5 ms (a lookup answered from memory) to 10 s (a large report or import).
DURATION_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)
HTTP_DURATION = Histogram(
    "registry_http_request_duration_seconds",
    "Time from the request's arrival to the end of its response, in seconds.",
    HTTP_LABELS,
    buckets=DURATION_BUCKETS,
)
LOOKUPS = Counter(
    "registry_lookups",
    "Answered lookups by action (single, VietQR and each batch item; invalid items are"
    " not answers).",
    ("action",),
)
BATCH_ITEMS = Histogram(
    "registry_lookup_batch_items",
    "Items per answered batch lookup, valid or not.",
    buckets=(1, 10, 50, 100, 250, 500, 750, 1000),
)
WARNING_BATCH = Histogram(
    "registry_warning_batch_size",
    "Warnings committed together by the group-commit writer, per batch.",
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000),
)
WORKER_START = Gauge(
    "registry_worker_start_time_seconds",
    "Unix time at which each serving process started (one series per live worker).",
    multiprocess_mode="liveall",
)

# The histogram's bounds, +Inf last: bisect_left gives the bucket an observation falls in
# ("le": the first bound at or above it), as Histogram.observe would pick it.
_BOUNDS = (*(float(b) for b in DURATION_BUCKETS), float("inf"))


class HttpSeries:
    """The requests of one (route, method, status) since the last flush."""

    __slots__ = ("buckets", "count", "counter", "histogram", "labels", "total")

    def __init__(self, labels: tuple[str, str, str]) -> None:
        self.labels = labels
        self.counter = HTTP_REQUESTS.labels(*labels)
        self.histogram = HTTP_DURATION.labels(*labels)
        self.count = 0
        self.total = 0.0
        self.buckets = [0] * len(_BOUNDS)

    def observe(self, seconds: float) -> None:
        self.count += 1
        self.total += seconds
        self.buckets[bisect_left(_BOUNDS, seconds)] += 1

    def flush(self) -> None:
        if not self.count:
            return
        count, total, buckets = self.count, self.total, self.buckets
        self.count, self.total, self.buckets = 0, 0.0, [0] * len(_BOUNDS)
        self.counter.inc(count)
        # Histogram.observe has no "n at once": its sum and (per-bucket, not cumulative)
        # bucket values are set as n observes would (tests hold the two to the same text).
        self.histogram._sum.inc(total)
        for value, n in zip(self.histogram._buckets, buckets, strict=True):
            if n:
                value.inc(n)


class Recorder:
    """Everything counted in this process and not yet flushed to the metrics."""

    def __init__(self) -> None:
        self.by_level = [0] * len(ACTIONS)  # risk level -> lookups answered
        self._lookups = tuple(LOOKUPS.labels(action) for action in ACTIONS)
        self.http: dict[tuple[str, str, str], HttpSeries] = {}  # by labels

    def flush(self) -> None:
        counts, self.by_level = self.by_level, [0] * len(ACTIONS)
        for child, n in zip(self._lookups, counts, strict=True):
            if n:
                child.inc(n)
        for series in list(self.http.values()):
            series.flush()


RECORDER = Recorder()
# Every action has a series from the start, so a rate over it is never "no data".
for _action in dict.fromkeys(ACTIONS):
    LOOKUPS.labels(_action)


def flush() -> None:
    RECORDER.flush()


async def run_flusher(interval: float = 1.0) -> None:
    """Flush every ``interval`` seconds, so what other workers scrape is at most that old."""
    while True:
        await asyncio.sleep(interval)
        try:
            flush()
        except Exception:  # a full disk under the multi-process files: keep serving
            log.warning("metrics flush failed", exc_info=True)


class LookupMetrics:
    """Counts answered lookups by action; built disabled (``REGISTRY_METRICS_ENABLED``
    false) it counts nothing."""

    __slots__ = ("enabled", "recorder")

    def __init__(self, enabled: bool, recorder: Recorder = RECORDER) -> None:
        self.enabled = enabled
        self.recorder = recorder

    def one(self, level: int) -> None:
        """One single (or VietQR) lookup answered with the action of ``level``."""
        if self.enabled:
            self.recorder.by_level[level] += 1

    def batch(self, items: int, keys: Sequence[str], found: Mapping[str, Listing]) -> None:
        """A batch of ``items`` answered: ``keys`` are its valid items' keys, repeats
        included (each is an answer), ``found`` the indexed subjects among them."""
        if not self.enabled:
            return
        BATCH_ITEMS.observe(items)  # once per batch: a lock is nothing next to 1,000 items
        counts = self.recorder.by_level
        if not found:
            counts[0] += len(keys)
            return
        answered = 0
        for key in keys:
            listing = found.get(key)
            if listing is not None:
                counts[listing.risk_level] += 1
                answered += 1
        counts[0] += len(keys) - answered
