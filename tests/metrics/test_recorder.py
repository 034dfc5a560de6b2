"""The batched recorder writes into the metrics exactly what direct calls would."""

from __future__ import annotations

from fastapi import FastAPI
from prometheus_client import REGISTRY, CollectorRegistry, Histogram

from app.metrics.metrics import DURATION_BUCKETS, LOOKUPS, HttpSeries, LookupMetrics, Recorder
from app.metrics.middleware import HttpMetrics
from app.sync.listing import Listing

SAMPLES = [0.0, 0.0004, 0.0005, 0.00051, 0.003, 0.003, 0.01, 0.7, 10.0, 11.0, 1e9]


def test_flushed_series_equals_direct_observes() -> None:
    labels = ("/test/flush/{x}", "GET", "299")
    series = HttpSeries(labels)
    reference = Histogram("reference", "r", buckets=DURATION_BUCKETS, registry=CollectorRegistry())
    for seconds in SAMPLES:
        series.observe(seconds)
        reference.observe(seconds)
    series.flush()
    series.flush()  # nothing new: nothing added
    got = {
        (s.name.rsplit("_", 1)[1], s.labels.get("le")): s.value
        for metric in REGISTRY.collect()
        if metric.name == "registry_http_request_duration_seconds"
        for s in metric.samples
        if s.labels.get("route") == labels[0] and not s.name.endswith("_created")
    }
    want = {
        (s.name.rsplit("_", 1)[1], s.labels.get("le")): s.value
        for metric in reference.collect()
        for s in metric.samples
        if not s.name.endswith("_created")
    }
    assert len(want) == len(DURATION_BUCKETS) + 3
    assert got == want
    requests = REGISTRY.get_sample_value(
        "registry_http_requests_total",
        dict(zip(("route", "method", "status"), labels, strict=True)),
    )
    assert requests == len(SAMPLES)


def test_lookup_counts_reach_the_counter_once() -> None:
    recorder = Recorder()
    metrics = LookupMetrics(True, recorder)
    listed = {"w": Listing(1, (), False, None, None), "h": Listing(3, (), False, None, None)}
    before = {
        a: REGISTRY.get_sample_value("registry_lookups_total", {"action": a}) or 0.0
        for a in ("allow", "warn", "hold")
    }
    metrics.one(0)
    metrics.one(2)
    metrics.batch(5, ["a", "w", "h", "w", "b"], listed)
    metrics.batch(2, ["x", "y"], {})
    LookupMetrics(False, recorder).one(3)
    recorder.flush()
    recorder.flush()
    after = {
        a: REGISTRY.get_sample_value("registry_lookups_total", {"action": a}) or 0.0
        for a in ("allow", "warn", "hold")
    }
    assert {a: after[a] - before[a] for a in after} == {"allow": 5, "warn": 3, "hold": 1}
    assert LOOKUPS.labels("allow") is LOOKUPS.labels("allow")


def test_chosen_paths_and_methods_cannot_grow_the_series() -> None:
    api = FastAPI()

    @api.post("/v1/lookup")
    async def lookup() -> None: ...

    recorder = Recorder()
    metrics = HttpMetrics(api, recorder)
    for n in range(3000):
        metrics.record({"path": f"/no/such/{n}", "method": "GET"}, 404, 0.001)
        metrics.record({"path": "/v1/lookup", "method": f"M{n}"}, 405, 0.001)
    metrics.record({"path": "/v1/lookup", "method": "POST"}, 200, 0.001)
    labels = set(recorder.http)
    assert labels == {
        ("unmatched", "GET", "404"),
        ("/v1/lookup", "other", "405"),
        ("/v1/lookup", "POST", "200"),
    }
    assert recorder.http[("unmatched", "GET", "404")].count == 3000
    assert recorder.http[("/v1/lookup", "other", "405")].count == 3000
    # Three thousand paths are one key; methods are keys but capped (_MAX_KEYS).
    assert [k for k in metrics._cache if k[0] == "unmatched"] == [("unmatched", "GET", 404)]
