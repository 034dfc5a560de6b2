"""``GET /metrics``: the format, the route labels, the gauges, who may scrape it, the switch."""

from __future__ import annotations

from urllib.parse import quote

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from app.config import Settings
from app.main import create_app
from tests.factories import make_caller
from tests.metrics.conftest import TOKEN
from tests.metrics.helpers import SCRAPE, matching, parse, scrape, value

RECORDED = {
    "registry_http_requests": "counter",
    "registry_http_request_duration_seconds": "histogram",
    "registry_lookups": "counter",
    "registry_lookup_batch_items": "histogram",
    "registry_worker_start_time_seconds": "gauge",
}
AT_SCRAPE = {
    "registry_index_staleness_seconds",
    "registry_index_version",
    "registry_audit_head_seq",
    "registry_index_versions_behind",
    "registry_database_up",
    "registry_warning_queue_length",
    "registry_db_pool_checked_out",
}


async def test_text_format_parses_with_every_metric(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await client.get("/healthz")
    response = await client.get("/metrics", headers=SCRAPE)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    for name, kind in RECORDED.items():
        assert families[name].type == kind, name
    assert AT_SCRAPE <= families.keys()
    for name in AT_SCRAPE:
        assert families[name].type == "gauge", name
    actions = {s.labels["action"] for s in families["registry_lookups"].samples}
    assert {"allow", "warn", "hold"} <= actions


async def test_scrape_time_gauges_follow_the_runtime(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    police = await make_caller(app, client, "C06", "police")
    body = {
        "subject": {"kind": "phone", "identifier": "0912 345 678"},
        "category": "ACCOUNT_MULE",
        "description": "mule",
    }
    assert (await client.post("/v1/flags", json=body, headers=police.headers)).status_code == 201
    runtime = app.state.runtime
    await runtime.mirror.refresh()
    seen = runtime.mirror.seq
    samples = await scrape(client)
    # A background task (expiry, sealing) may commit an event during the scrape: the
    # figures are at least what the index had applied, and agree with each other.
    head = value(samples, "registry_audit_head_seq")
    assert head >= seen > 0
    assert value(samples, "registry_index_version") >= seen
    assert value(samples, "registry_index_versions_behind") == max(
        0, head - value(samples, "registry_index_version")
    )
    assert value(samples, "registry_database_up") == 1
    assert 0 <= value(samples, "registry_index_staleness_seconds") < 5
    assert value(samples, "registry_warning_queue_length") == 0
    pools = {dict(labels)["pool"] for name, labels in samples if name.startswith("registry_db_p")}
    assert pools == ({"read", "write"} if runtime.db.is_sqlite else {"main"})

    # A change committed behind this process's index is seen at the next scrape.
    # (The mirror's own poll may catch up meanwhile: restore, never go past, what it has.)
    saved = runtime.mirror.seq
    runtime.mirror.seq = saved - 1
    try:
        behind = await scrape(client)
    finally:
        runtime.mirror.seq = max(runtime.mirror.seq, saved)
    assert value(behind, "registry_index_versions_behind") >= 1
    assert value(behind, "registry_audit_head_seq") >= seen


async def test_route_label_is_the_template_never_the_path(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    police = await make_caller(app, client, "C06", "police")
    raw = "bank_account:970436:0011002345678"
    for _ in range(2):
        response = await client.get(f"/v1/subjects/{quote(raw, safe='')}", headers=police.headers)
        assert response.status_code == 404
    assert (await client.get("/no/such/route/4242")).status_code == 404
    assert (await client.request("BREW", "/v1/lookup")).status_code == 405
    assert (await client.get("/v1/lookup")).status_code == 405
    response = await client.get("/metrics", headers=SCRAPE)
    samples = parse(response.text)
    # In label values only: a latency such as 0.0024242 may contain "4242" by chance.
    labels = {v for _, pairs in samples for _, v in pairs}
    assert not any(raw in v or "970436" in v or "4242" in v or "BREW" in v for v in labels)
    subject = {"route": "/v1/subjects/{key}", "method": "GET", "status": "404"}
    assert value(samples, "registry_http_requests_total", **subject) >= 2
    unmatched = {"route": "unmatched", "method": "GET", "status": "404"}
    assert value(samples, "registry_http_requests_total", **unmatched) >= 1
    odd = {"route": "/v1/lookup", "method": "other", "status": "405"}
    assert value(samples, "registry_http_requests_total", **odd) >= 1
    routes = {dict(labels)["route"] for name, labels in samples if "route" in dict(labels)}
    assert all(r == "unmatched" or r.startswith("/") for r in routes)
    assert not any("%3A" in r or raw in r for r in routes)


async def test_scrape_needs_the_metrics_token(app: FastAPI, client: httpx.AsyncClient) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    wrong: list[dict[str, str | bytes]] = [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN[:-1]}x"},
        {"Authorization": f"Bearer {TOKEN}{TOKEN}"},
        {"Authorization": b"Bearer \xc3\xa9" + TOKEN.encode()},
        {"Authorization": b"Bearer " + TOKEN.encode() + b"\x00"},
        bank.headers,  # an OAuth token, even a valid one, is not the metrics token
    ]
    for headers in wrong:
        response = await client.get("/metrics", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["content-type"] == "application/problem+json"
        assert "registry_" not in response.text
    assert (await client.get("/metrics", headers=SCRAPE)).status_code == 200


async def test_without_a_configured_token_nobody_may_scrape(
    database_url: str, key_file: object
) -> None:
    settings = Settings(
        database_url=database_url, jwt_key_file=key_file, gc_freeze_after_start=False
    )
    assert settings.metrics_token is None
    application = create_app(settings)
    async with LifespanManager(application, startup_timeout=30, shutdown_timeout=30):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as c:
            for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer None"}):
                assert (await c.get("/metrics", headers=headers)).status_code == 401


async def test_disabled_metrics_are_absent_and_count_nothing(
    settings: Settings,
) -> None:
    application = create_app(settings.model_copy(update={"metrics_enabled": False}))
    async with LifespanManager(application, startup_timeout=30, shutdown_timeout=30):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as c:
            bank = await make_caller(application, c, "VCB", "bank")
            before = REGISTRY.get_sample_value("registry_lookups_total", {"action": "allow"})
            requests = matching(_default(), "registry_http_requests_total")
            subject = {"kind": "phone", "identifier": "0912 345 679"}
            for _ in range(3):
                response = await c.post("/v1/lookup", json=subject, headers=bank.headers)
                assert response.status_code == 200
            batch = await c.post(
                "/v1/lookup/batch", json={"items": [subject]}, headers=bank.headers
            )
            assert batch.status_code == 200
            metrics = await c.get("/metrics", headers=SCRAPE)
            assert metrics.status_code == 404
            assert metrics.headers["content-type"] == "application/problem+json"
            after = REGISTRY.get_sample_value("registry_lookups_total", {"action": "allow"})
            assert after == before
            assert matching(_default(), "registry_http_requests_total") == requests
            assert "/metrics" not in (await c.get("/openapi.json")).json()["paths"]


def _default() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in REGISTRY.collect():
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out
