"""Problem+json everywhere (but the token endpoint, RFC 6749 §5.2), request ids, security
headers, body limit, JWKS."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.factories import make_caller


async def test_unknown_route_is_problem_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/nope")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert {"type", "title", "status"} <= body.keys() and body["status"] == 404


async def test_framework_validation_error_is_problem_json(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    response = await client.get("/v1/changes?after=not-a-number", headers=bank.headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["loc"] == ["query", "after"]


async def test_token_endpoint_validation_error_is_oauth_invalid_request(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/v1/oauth/token", data={})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"] == "invalid_request"


async def test_request_id_echoed_when_sane_and_generated_otherwise(
    client: httpx.AsyncClient,
) -> None:
    sane = await client.get("/healthz", headers={"X-Request-ID": "bank-req-42"})
    assert sane.headers["x-request-id"] == "bank-req-42"
    insane = await client.get("/healthz", headers={"X-Request-ID": "x" * 300})
    assert insane.headers["x-request-id"] != "x" * 300
    assert len(insane.headers["x-request-id"]) == 32
    assert (await client.get("/healthz")).headers["x-request-id"]


async def test_security_headers_and_no_server_banner(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == "frame-ancestors 'none'"
    assert "server" not in response.headers


async def test_oversized_body_is_413(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/oauth/token",
        content=b"grant_type=" + b"x" * 1_100_000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


async def test_streamed_oversized_body_without_length_is_413(client: httpx.AsyncClient) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(20):
            yield b"x" * 100_000

    response = await client.post(
        "/v1/oauth/token",
        content=chunks(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413


async def test_jwks_serves_public_es256_key(client: httpx.AsyncClient) -> None:
    keys = (await client.get("/.well-known/jwks.json")).json()["keys"]
    assert keys and all(k["kty"] == "EC" and k["alg"] == "ES256" and "d" not in k for k in keys)


async def test_lookup_fast_path_keeps_the_body_limit(client: httpx.AsyncClient) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(20):
            yield b"x" * 100_000

    response = await client.post(
        "/v1/lookup", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
