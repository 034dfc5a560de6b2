"""Every answered lookup is counted exactly once, by action, whichever door it came in by."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from app.config import Settings
from app.main import create_app
from tests.factories import Caller, make_caller
from tests.metrics.helpers import delta, lookups, matching, scrape, value

FREE = {"kind": "bank_account", "institution": "VCB", "identifier": "0011 0099 0001"}
WARNED = {"kind": "ewallet", "institution": "momo", "identifier": "0987 654 321"}
HELD = {"kind": "bank_account", "institution": "ACB", "identifier": "257678859"}
# The ACB payload of tests/identifiers/test_vietqr.py: the HELD account.
VIETQR = (
    "00020101021238530010A0000007270123000697041601092576788590208QRIBFTTA530370454"
    "0410005802VN62150811Chuyen tien6304BBB8"
)


@pytest.fixture(params=[True, False], ids=["fast-path", "framework"])
async def both_paths(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[FastAPI]:
    """The app with the ASGI lookup fast path on, then with the framework routes only."""
    application = create_app(settings.model_copy(update={"lookup_fast_path": request.param}))
    async with LifespanManager(application, startup_timeout=30, shutdown_timeout=30):
        yield application


@pytest.fixture
async def http(both_paths: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=both_paths)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as c:
        yield c


async def listed(app: FastAPI, http: httpx.AsyncClient) -> Caller:
    """WARNED reported by a bank (warn), HELD confirmed by the police (hold); a bank to ask."""
    bank = await make_caller(app, http, "VCB", "bank")
    police = await make_caller(app, http, "C06", "police")
    for subject, caller, extra in ((WARNED, bank, {}), (HELD, police, {"case_reference": "C-1"})):
        body = {"subject": subject, "category": "ACCOUNT_MULE", "description": "mule", **extra}
        response = await http.post("/v1/flags", json=body, headers=caller.headers)
        assert response.status_code == 201, response.text
    return bank


async def test_single_lookups_count_once_each_by_action(
    both_paths: FastAPI, http: httpx.AsyncClient
) -> None:
    bank = await listed(both_paths, http)
    before = await scrape(http)
    actions = []
    for subject in (FREE, WARNED, HELD, HELD):
        response = await http.post("/v1/lookup", json=subject, headers=bank.headers)
        assert response.status_code == 200, response.text
        actions.append(response.json()["action"])
    assert actions == ["allow", "warn", "hold", "hold"]
    after = await scrape(http)
    assert delta(lookups(before), lookups(after)) == {"allow": 1, "warn": 1, "hold": 2}
    route = {"route": "/v1/lookup", "method": "POST", "status": "200"}
    assert (
        value(after, "registry_http_requests_total", **route)
        - value(before, "registry_http_requests_total", **route)
        == 4
    )
    assert (
        value(after, "registry_http_request_duration_seconds_count", **route)
        - value(before, "registry_http_request_duration_seconds_count", **route)
        == 4
    )


async def test_refused_and_invalid_lookups_are_not_answers(
    both_paths: FastAPI, http: httpx.AsyncClient
) -> None:
    bank = await listed(both_paths, http)
    before = await scrape(http)
    invalid = await http.post(
        "/v1/lookup", json={**FREE, "identifier": "12\x0034"}, headers=bank.headers
    )
    assert invalid.status_code == 422
    anonymous = await http.post("/v1/lookup", json=HELD)
    assert anonymous.status_code == 401
    after = await scrape(http)
    assert delta(lookups(before), lookups(after)) == {}
    # The requests themselves are counted, under the template and their status.
    for status in ("401", "422"):
        labels = {"route": "/v1/lookup", "method": "POST", "status": status}
        grown = value(after, "registry_http_requests_total", **labels) - value(
            before, "registry_http_requests_total", **labels
        )
        assert grown == 1, status


async def test_batch_items_count_once_each_repeats_included(
    both_paths: FastAPI, http: httpx.AsyncClient
) -> None:
    bank = await listed(both_paths, http)
    before = await scrape(http)
    items = [FREE, WARNED, FREE, HELD, {"kind": "bank_account", "identifier": ""}, WARNED]
    response = await http.post("/v1/lookup/batch", json={"items": items}, headers=bank.headers)
    assert response.status_code == 200, response.text
    answers = response.json()["items"]
    assert [a["result"]["action"] if a["result"] else None for a in answers] == [
        "allow", "warn", "allow", "hold", None, "warn",
    ]  # fmt: skip
    after = await scrape(http)
    # The invalid item got an error entry, not an answer: five lookups.
    assert delta(lookups(before), lookups(after)) == {"allow": 2, "warn": 2, "hold": 1}
    grown = {
        name: value(after, name) - value(before, name)
        for name in ("registry_lookup_batch_items_count", "registry_lookup_batch_items_sum")
    }
    assert grown == {"registry_lookup_batch_items_count": 1, "registry_lookup_batch_items_sum": 6}
    bucket = "registry_lookup_batch_items_bucket"
    assert value(after, bucket, le="1.0") == value(before, bucket, le="1.0")
    assert value(after, bucket, le="10.0") - value(before, bucket, le="10.0") == 1


async def test_vietqr_lookup_counts_once(both_paths: FastAPI, http: httpx.AsyncClient) -> None:
    bank = await listed(both_paths, http)
    before = await scrape(http)
    response = await http.post("/v1/lookup/vietqr", json={"payload": VIETQR}, headers=bank.headers)
    assert response.status_code == 200 and response.json()["action"] == "hold", response.text
    after = await scrape(http)
    assert delta(lookups(before), lookups(after)) == {"hold": 1}
    assert (
        matching(after, "registry_http_requests_total", route="/v1/lookup/vietqr")
        - matching(before, "registry_http_requests_total", route="/v1/lookup/vietqr")
        == 1
    )


async def test_warnings_committed_are_counted_by_batch(
    both_paths: FastAPI, http: httpx.AsyncClient
) -> None:
    bank = await listed(both_paths, http)
    before = await scrape(http)
    for _ in range(3):
        answer = await http.post("/v1/lookup", json=WARNED, headers=bank.headers)
        assert answer.json()["warning_id"] is not None  # its warning was committed
    after = await scrape(http)
    names = ("registry_warning_batch_size_count", "registry_warning_batch_size_sum")
    grown = {n: value(after, n) - value(before, n) for n in names}
    # Three warnings, in one to three batches (lookups in turn may each get their own).
    assert grown["registry_warning_batch_size_sum"] == 3
    assert 1 <= grown["registry_warning_batch_size_count"] <= 3
