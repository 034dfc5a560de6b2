"""SPEC §8 "Lists": an unknown query parameter is a 422 naming it; a ``key`` filter is
normalised like any identifier (SPEC §3), or a 422 naming it."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from app.parameters import check_parameters
from tests.factories import Caller, make_caller

ZERO_ID = "00000000-0000-0000-0000-000000000000"
PATH_VALUES = {
    "flag_id": ZERO_ID,
    "dispute_id": ZERO_ID,
    "warning_id": ZERO_ID,
    "key": "phone%3A%3A%2B84912345678",
    "period": "2026",
    "code": "VCB",
    "client_id": "cli_nobody",
    "slug": "not-found",
    "user_id": ZERO_ID,
    "hook_id": ZERO_ID,
    "hold_id": ZERO_ID,
    "job_id": "x" * 43,
    "report_id": ZERO_ID,
    "bulletin_id": ZERO_ID,
    "token": "x" * 43,
}
ACCOUNT = {"kind": "bank_account", "institution": "VCB", "identifier": "0011002345678"}
PHONE = {"kind": "phone", "identifier": "0912345678"}


def api_routes(app: FastAPI) -> list[RouteContext]:
    """Every API route as served: with the application's dependencies and included prefix."""
    routes = [c for c in iter_route_contexts(app.routes) if isinstance(c.original_route, APIRoute)]
    assert len(routes) > 20  # the walk reaches the included routers' routes
    return routes


def unknown(response: httpx.Response, name: str) -> bool:
    if response.headers.get("content-type", "").startswith("text/html"):
        # The console and the portal answer in HTML, the same 422 naming the parameter.
        return response.status_code == 422 and name in response.text
    if response.request.url.path == "/v1/oauth/token":
        # RFC 6749 §5.2 there (SPEC §8 "Token endpoint"): invalid_request naming it.
        body = response.json()
        return (
            response.status_code == 400
            and body["error"] == "invalid_request"
            and name in body["error_description"]
        )
    if response.status_code != 422:
        return False
    errors = response.json()["errors"]
    return {
        "loc": ["query", name],
        "msg": "unknown query parameter",
        "type": "extra_forbidden",
    } in (errors)


async def test_every_route_carries_the_check(app: FastAPI) -> None:
    for route in api_routes(app):
        assert any(d.call is check_parameters for d in route.dependant.dependencies), route.path


async def test_every_route_refuses_an_unknown_query_parameter(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    # Between them these four hold every scope a route can ask for.
    callers: list[Caller | None] = [
        None,
        await make_caller(app, client, "VCB", "bank"),
        await make_caller(app, client, "C06", "police"),
        await make_caller(app, client, "SBV", "regulator"),
        await make_caller(app, client, "OPS", "operator"),
    ]
    for route in api_routes(app):
        path = re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], route.path)
        for method in sorted(route.methods or ()):
            for caller in callers:
                headers = caller.headers if caller else {}
                url = f"{path}?zz_unknown=1"
                response = await client.request(method, url, headers=headers)
                if response.status_code not in (401, 403):
                    break
            assert unknown(response, "zz_unknown"), (method, url, response.text)


@pytest.mark.parametrize(
    "url",
    [
        "/v1/flags?organisation=VCB",
        "/v1/flags?status=reported&organisation=VCB",
        "/v1/disputes?org=VCB",
        "/v1/changes?after=0&organisation=VCB",
        "/v1/subjects/phone%3A%3A%2B84912345678/history?organisation=VCB",
        "/v1/reports/2026?format=csv&organisation=VCB",
        "/v1/typologies?organisation=VCB",
    ],
)
async def test_a_misspelt_filter_is_named_not_ignored(
    app: FastAPI, client: httpx.AsyncClient, url: str
) -> None:
    police = await make_caller(app, client, "C06", "police")
    sync = await make_caller(app, client, "VCB", "bank")
    caller = sync if url.startswith("/v1/changes") else police
    response = await client.get(url, headers=caller.headers)
    assert unknown(response, "organisation" if "organisation" in url else "org"), response.text
    # Without the misspelt parameter the same request is answered (404: no such subject yet).
    clean = re.sub(r"[?&](organisation|org)=VCB", "", url)
    assert (await client.get(clean, headers=caller.headers)).status_code in (200, 404)


async def test_audit_events_and_every_unknown_name_are_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    auditor = await make_caller(app, client, "AUD", "auditor")
    response = await client.get("/v1/audit/events?after=0&a=1&b=&c", headers=auditor.headers)
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["errors"]] == [["query", n] for n in "abc"]
    assert (await client.get("/v1/audit/events?after=0", headers=auditor.headers)).is_success


async def test_the_lookup_fast_path_hands_query_strings_to_the_check(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    single = await client.post("/v1/lookup?debug=1", json=PHONE, headers=bank.headers)
    batch = await client.post("/v1/lookup/batch?x=1", json={"items": [PHONE]}, headers=bank.headers)
    assert unknown(single, "debug") and unknown(batch, "x")
    assert (await client.post("/v1/lookup", json=PHONE, headers=bank.headers)).is_success


async def test_an_unknown_parameter_does_not_outrank_a_missing_token(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    assert (await client.get("/v1/flags?organisation=VCB")).status_code == 401
    assert (await client.get("/v1/audit/events?x=1", headers=bank.headers)).status_code == 403
    assert (await client.post("/v1/lookup?x=1", json=PHONE)).status_code == 401


@pytest.mark.parametrize(
    "typed",
    [
        "phone::0912345678",
        "phone::0912 345 678",
        "phone::84912345678",
        "phone::+84912345678",
    ],
)
async def test_the_flags_key_filter_is_normalised(
    app: FastAPI, client: httpx.AsyncClient, typed: str
) -> None:
    police = await make_caller(app, client, "C06", "police")
    for subject in (PHONE, ACCOUNT):
        body = {"subject": subject, "category": "FAKE_LOAN"}
        assert (await client.post("/v1/flags", json=body, headers=police.headers)).is_success
    response = await client.get("/v1/flags", params={"key": typed}, headers=police.headers)
    assert response.status_code == 200, response.text
    assert [f["subject"]["key"] for f in response.json()["items"]] == ["phone::+84912345678"]
    by_bank = await client.get(
        "/v1/flags",
        params={"key": "bank_account:Vietcombank:0011-0023-45678"},
        headers=police.headers,
    )
    assert [f["subject"]["key"] for f in by_bank.json()["items"]] == [
        "bank_account:970436:0011002345678"
    ]


async def test_the_disputes_key_filter_is_normalised(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    police = await make_caller(app, client, "C06", "police")
    bank = await make_caller(app, client, "VCB", "bank")
    flag = {"subject": ACCOUNT, "category": "FAKE_LOAN", "case_reference": "C-1"}
    assert (await client.post("/v1/flags", json=flag, headers=police.headers)).is_success
    dispute = {"subject": ACCOUNT, "reason": "salary"}
    assert (await client.post("/v1/disputes", json=dispute, headers=bank.headers)).is_success
    for typed, count in (("bank_account:VCB:0011 0023 45678", 1), ("bank_account:VCB:999999", 0)):
        response = await client.get("/v1/disputes", params={"key": typed}, headers=police.headers)
        assert response.status_code == 200, response.text
        assert len(response.json()["items"]) == count


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("/v1/flags?key=phone::12345", "Vietnamese mobile number"),
        ("/v1/flags?key=nokey", "kind:institution:identifier"),
        ("/v1/flags?key=fax::0912345678", "unknown kind"),
        ("/v1/disputes?key=bank_account:NOBANK:0011002345678", "unknown bank"),
        ("/v1/disputes?key=phone:VCB:0912345678", "no institution"),
    ],
)
async def test_a_key_filter_that_is_no_identifier_is_a_422_naming_it(
    app: FastAPI, client: httpx.AsyncClient, url: str, words: str
) -> None:
    police = await make_caller(app, client, "C06", "police")
    response = await client.get(url, headers=police.headers)
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["loc"] == ["query", "key"]
    assert words in error["msg"]
