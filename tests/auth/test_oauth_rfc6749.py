"""The token endpoint speaks RFC 6749 §5.2 (SPEC §8 "Token endpoint").

Errors are ``application/json`` ``{"error", "error_description"}``, never problem+json
and never a 422; every answer, success or error, carries ``Cache-Control: no-store`` and
``Pragma: no-cache``. A real OAuth client (authlib) fetches tokens with both client
authentication methods and sees ``invalid_client`` for a wrong secret.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from fastapi import FastAPI

from app.auth.actor import Actor
from app.config import Settings
from app.db.unit_of_work import unit_of_work
from app.main import create_app
from app.organisations.service import deactivate_organisation, revoke_client
from tests.factories import make_client, make_org

TOKEN = "/v1/oauth/token"
BASE = "http://registry.test"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
GRANT = {"grant_type": "client_credentials"}
ACCOUNT = {"kind": "bank_account", "institution": "970436", "identifier": "0011002345678"}
CHALLENGE = 'Basic realm="registry"'


async def bank(app: FastAPI, scopes: str = "lookup sync") -> tuple[str, str]:
    await make_org(app, "VCB", "bank", "970436")
    return await make_client(app, "VCB", scopes)


def basic(client_id: str, secret: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


def raw_basic(decoded: bytes) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(decoded).decode()}


def assert_no_store(response: httpx.Response) -> None:
    assert response.headers.get_list("cache-control") == ["no-store"], response.headers
    assert response.headers.get_list("pragma") == ["no-cache"], response.headers


def assert_oauth_error(
    response: httpx.Response, status: int, error: str, *, challenge: bool = False
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json", response.headers
    body: dict[str, Any] = response.json()
    assert set(body) == {"error", "error_description"}, body
    assert body["error"] == error, body
    description = body["error_description"]
    assert description and all(" " <= c <= "~" and c not in '"\\' for c in description)
    assert_no_store(response)
    if challenge:
        assert response.headers["www-authenticate"] == CHALLENGE
    else:
        assert "www-authenticate" not in response.headers
    return body


def assert_token(response: httpx.Response, scope: str) -> None:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["access_token"] and body["scope"] == scope
    assert response.headers["content-type"] == "application/json"
    assert_no_store(response)


async def post_form(
    client: httpx.AsyncClient, form: bytes | str, headers: dict[str, str] | None = None
) -> httpx.Response:
    content = form.encode() if isinstance(form, str) else form
    return await client.post(TOKEN, content=content, headers={**FORM, **(headers or {})})


# ---- success -----------------------------------------------------------------------------


async def test_form_and_basic_tokens_carry_no_store(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    client_id, secret = await bank(app)
    form = {**GRANT, "client_id": client_id, "client_secret": secret}
    assert_token(await client.post(TOKEN, data=form), "lookup sync")
    assert_token(
        await client.post(TOKEN, data=GRANT, headers=basic(client_id, secret)), "lookup sync"
    )


async def test_basic_credentials_are_form_urlencoded(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    client_id, secret = await bank(app)

    def escaped(text: str) -> str:  # every character percent-encoded
        return "".join(f"%{b:02X}" for b in text.encode())

    headers = basic(escaped(client_id), escaped(secret))
    assert_token(await client.post(TOKEN, data=GRANT, headers=headers), "lookup sync")


async def test_basic_with_the_same_client_id_in_the_body_is_accepted(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    client_id, secret = await bank(app)
    response = await client.post(
        TOKEN, data={**GRANT, "client_id": client_id}, headers=basic(client_id, secret)
    )
    assert_token(response, "lookup sync")


async def test_unknown_parameters_and_empty_scope_are_ignored(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    client_id, secret = await bank(app)
    form = f"grant_type=client_credentials&client_id={client_id}&client_secret={secret}"
    assert_token(await post_form(client, form + "&scope=&audience=x&audience=y"), "lookup sync")


# ---- invalid_client ----------------------------------------------------------------------


async def test_unknown_client_and_wrong_secret_are_invalid_client(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    client_id, secret = await bank(app)
    for cid, sec in ((client_id, "wrong"), ("cli_nobody", secret), (client_id, secret[:-1])):
        form = {**GRANT, "client_id": cid, "client_secret": sec}
        assert_oauth_error(await client.post(TOKEN, data=form), 401, "invalid_client")
        via_basic = await client.post(TOKEN, data=GRANT, headers=basic(cid, sec))
        assert_oauth_error(via_basic, 401, "invalid_client", challenge=True)


async def test_revoked_client_and_deactivated_org_are_invalid_client(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    revoked_id, revoked_secret = await bank(app)
    await make_org(app, "ACB", "bank", "ACB")
    other_id, other_secret = await make_client(app, "ACB", "lookup")
    runtime = app.state.runtime
    async with unit_of_work(runtime.db, Actor.command_line()) as uow:
        await revoke_client(uow, revoked_id)
        await deactivate_organisation(uow, "ACB")
    await runtime.mirror.refresh()
    for cid, sec in ((revoked_id, revoked_secret), (other_id, other_secret)):
        form = {**GRANT, "client_id": cid, "client_secret": sec}
        assert_oauth_error(await client.post(TOKEN, data=form), 401, "invalid_client")
        via_basic = await client.post(TOKEN, data=GRANT, headers=basic(cid, sec))
        assert_oauth_error(via_basic, 401, "invalid_client", challenge=True)


# ---- invalid_request ---------------------------------------------------------------------


async def test_missing_grant_type_or_credentials_is_invalid_request(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    client_id, secret = await bank(app)
    for form in (
        f"client_id={client_id}&client_secret={secret}",
        f"grant_type=&client_id={client_id}&client_secret={secret}",
        "grant_type=client_credentials",
        f"grant_type=client_credentials&client_id={client_id}",
        f"grant_type=client_credentials&client_secret={secret}",
        f"grant_type=client_credentials&client_id={client_id}&client_secret=",
        f"grant_type=client_credentials&client_id=&client_secret={secret}",
        "",
    ):
        assert_oauth_error(await post_form(client, form), 400, "invalid_request")
    # An empty part inside Basic is a missing credential too.
    for decoded in (f":{secret}", f"{client_id}:"):
        response = await post_form(
            client, "grant_type=client_credentials", raw_basic(decoded.encode())
        )
        assert_oauth_error(response, 400, "invalid_request")


async def test_malformed_basic_is_invalid_request(app: FastAPI, client: httpx.AsyncClient) -> None:
    client_id, secret = await bank(app)
    for authorization in (
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"no-colon-here").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),  # not UTF-8
        "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()[:-2],
        "basic",
    ):
        response = await post_form(
            client, "grant_type=client_credentials", {"Authorization": authorization}
        )
        body = assert_oauth_error(response, 400, "invalid_request")
        assert "Basic" in body["error_description"] or "missing" in body["error_description"]


async def test_credentials_in_basic_and_body_is_invalid_request(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    client_id, secret = await bank(app)
    await make_org(app, "ACB", "bank", "ACB")
    other_id, _ = await make_client(app, "ACB", "lookup")
    for form in (
        {**GRANT, "client_id": client_id, "client_secret": secret},
        {**GRANT, "client_secret": secret},
        {**GRANT, "client_id": other_id},
    ):
        response = await client.post(TOKEN, data=form, headers=basic(client_id, secret))
        body = assert_oauth_error(response, 400, "invalid_request")
        assert "both" in body["error_description"]


async def test_duplicated_parameters_are_invalid_request(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    client_id, secret = await bank(app)
    good = f"grant_type=client_credentials&client_id={client_id}&client_secret={secret}"
    for extra in (
        "&grant_type=client_credentials",
        f"&client_id={client_id}",
        f"&client_secret={secret}",
        "&scope=lookup&scope=lookup",
        "&client_secret=",
    ):
        response = await post_form(client, good + extra)
        body = assert_oauth_error(response, 400, "invalid_request")
        assert "more than once" in body["error_description"]


async def test_nul_and_lone_surrogates_are_invalid_request(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    client_id, secret = await bank(app)
    good = {**GRANT, "client_id": client_id, "client_secret": secret, "scope": "lookup"}

    def form_with(field: str, value: str) -> str:
        return "&".join(f"{n}={value if n == field else v}" for n, v in good.items())

    for field in good:
        assert_oauth_error(
            await client.post(TOKEN, data={**good, field: "a\x00b"}), 400, "invalid_request"
        )
        # A raw NUL byte, an escaped one, and an escaped lone surrogate (U+D800 is not
        # UTF-8: refused, never replaced by U+FFFD).
        for value in ("x\x00y", "x%00y", "%ED%A0%80", "a%ED%B0%80b"):
            response = await post_form(client, form_with(field, value))
            assert_oauth_error(response, 400, "invalid_request")
    # Inside Basic: a raw NUL, an escaped NUL, a surrogate (raw and escaped).
    for decoded in (
        f"{client_id}\x00:{secret}".encode(),
        f"{client_id}%00:{secret}".encode(),
        f"{client_id}:x%00".encode(),
        f"{client_id}:%ED%A0%80".encode(),
        client_id.encode() + b":\xed\xa0\x80",
    ):
        response = await post_form(client, "grant_type=client_credentials", raw_basic(decoded))
        assert_oauth_error(response, 400, "invalid_request")


async def test_wrong_content_type_and_bad_bodies_are_invalid_request(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    client_id, secret = await bank(app)
    good = {**GRANT, "client_id": client_id, "client_secret": secret}
    answers = [
        await client.post(TOKEN, json=good),
        await client.post(TOKEN, files={"x": ("a", b"b")}, data=good),  # multipart
        await client.post(TOKEN, content=b"grant_type=client_credentials"),  # no type
        await client.post(
            TOKEN, content=b"grant_type=client_credentials", headers={"Content-Type": "text/plain"}
        ),
        await post_form(client, b"grant_type=client_credentials&client_id=\xff\xfe"),
        await post_form(client, "&".join(f"p{i}=x" for i in range(100))),
    ]
    for response in answers:
        assert_oauth_error(response, 400, "invalid_request")
    # A charset parameter on the right media type is fine.
    form = f"grant_type=client_credentials&client_id={client_id}&client_secret={secret}"
    charset = {"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"}
    assert_token(await client.post(TOKEN, content=form.encode(), headers=charset), "lookup sync")


async def test_no_422_from_the_token_endpoint(app: FastAPI, client: httpx.AsyncClient) -> None:
    client_id, secret = await bank(app)
    good = {**GRANT, "client_id": client_id, "client_secret": secret}
    answers = [
        # Secrets in the URL are refused, and so is any query parameter.
        await client.post(f"{TOKEN}?client_secret={secret}", data=good),
        await client.post(f"{TOKEN}?x=%00", data=good),
        await client.post(TOKEN, data={**good, "client_id": "c" * 65}),
        await client.post(TOKEN, data={**good, "client_secret": "s" * 513}),
        await client.post(TOKEN, data={**good, "scope": "lookup " * 60}),
        await client.post(TOKEN, data={**good, "grant_type": "g" * 65}),
        await client.post(TOKEN, data={}),
    ]
    for response in answers:
        assert_oauth_error(response, 400, "invalid_request")


# ---- unsupported_grant_type and invalid_scope ----------------------------------------------


async def test_other_grant_types_are_unsupported(app: FastAPI, client: httpx.AsyncClient) -> None:
    client_id, secret = await bank(app)
    for grant in ("password", "authorization_code", "refresh_token", "CLIENT_CREDENTIALS", "x"):
        form = {"grant_type": grant, "client_id": client_id, "client_secret": secret}
        assert_oauth_error(await client.post(TOKEN, data=form), 400, "unsupported_grant_type")


async def test_unknown_or_ungranted_scope_is_invalid_scope(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    client_id, secret = await bank(app, "lookup")
    good = {**GRANT, "client_id": client_id, "client_secret": secret}
    for scope in ("nonsense", "lookup sync", "admin", "history:read", "LOOKUP", "lookup\tsync"):
        body = assert_oauth_error(
            await client.post(TOKEN, data={**good, "scope": scope}), 400, "invalid_scope"
        )
        assert "scope" in body["error_description"]
    # Narrowing to held scopes still works; repeats fold; blank means all held scopes.
    assert_token(await client.post(TOKEN, data={**good, "scope": "lookup lookup"}), "lookup")
    assert_token(await client.post(TOKEN, data={**good, "scope": "  "}), "lookup")
    # The scope is judged only once the client is authenticated.
    wrong = {**good, "client_secret": "wrong", "scope": "admin"}
    assert_oauth_error(await client.post(TOKEN, data=wrong), 401, "invalid_client")


# ---- the failed-authentication limit ------------------------------------------------------


@pytest.fixture
async def limited_app(settings: Settings) -> AsyncIterator[FastAPI]:
    configured = settings.model_copy(
        update={
            "token_failure_window_seconds": 600,
            "token_failures_per_address": 50,
            "token_failures_per_client_address": 2,
            "token_failures_per_client": 50,
        }
    )
    application = create_app(configured)
    async with LifespanManager(application, startup_timeout=30, shutdown_timeout=30):
        yield application


def from_address(app: FastAPI, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url=BASE)


async def test_limit_is_429_temporarily_unavailable_with_retry_after(
    limited_app: FastAPI,
) -> None:
    client_id, secret = await bank(limited_app)
    wrong = {**GRANT, "client_id": client_id, "client_secret": "wrong"}
    async with from_address(limited_app, "203.0.113.40") as attacker:
        for _ in range(2):
            assert_oauth_error(await attacker.post(TOKEN, data=wrong), 401, "invalid_client")
        for attempt in (wrong, {**wrong, "client_secret": secret}):
            response = await attacker.post(TOKEN, data=attempt)
            assert_oauth_error(response, 429, "temporarily_unavailable")
            assert 1 <= int(response.headers["retry-after"]) <= 600
        limited = await attacker.post(TOKEN, data=GRANT, headers=basic(client_id, "wrong"))
        assert_oauth_error(limited, 429, "temporarily_unavailable")
    # The real client, elsewhere, is not locked out.
    async with from_address(limited_app, "198.51.100.40") as real:
        good = {**GRANT, "client_id": client_id, "client_secret": secret}
        assert_token(await real.post(TOKEN, data=good), "lookup sync")


# ---- OpenAPI -------------------------------------------------------------------------------


async def test_openapi_documents_the_form_and_the_oauth_errors(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    operation = document["paths"][TOKEN]["post"]
    form = operation["requestBody"]["content"]["application/x-www-form-urlencoded"]
    assert set(form["schema"]["properties"]) == {
        "grant_type",
        "client_id",
        "client_secret",
        "scope",
    }
    assert form["schema"]["required"] == ["grant_type"]
    assert form["example"]["grant_type"] == "client_credentials"
    responses = operation["responses"]
    assert "422" not in responses
    for status in ("400", "401", "429"):
        content = responses[status]["content"]
        assert set(content) == {"application/json"}, (status, content)
        assert content["application/json"]["schema"] == {
            "$ref": "#/components/schemas/OAuthErrorBody"
        }
    schema = document["components"]["schemas"]["OAuthErrorBody"]
    assert set(schema["required"]) == {"error", "error_description"}
    assert "invalid_client" in schema["properties"]["error"]["enum"]
    assert "Retry-After" in responses["429"]["headers"]
    assert "WWW-Authenticate" in responses["401"]["headers"]


async def test_other_endpoints_keep_problem_json(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/lookup", json=ACCOUNT)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert "pragma" not in response.headers


# ---- a real OAuth client -------------------------------------------------------------------


def oauth_client(app: FastAPI, client_id: str, secret: str, method: str) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=client_id,
        client_secret=secret,
        token_endpoint_auth_method=method,
        transport=httpx.ASGITransport(app=app),
        base_url=BASE,
    )


@pytest.mark.parametrize("method", ["client_secret_post", "client_secret_basic"])
async def test_authlib_fetches_a_token_and_calls_the_api(app: FastAPI, method: str) -> None:
    client_id, secret = await bank(app)
    async with oauth_client(app, client_id, secret, method) as oauth:
        token = await oauth.fetch_token(f"{BASE}{TOKEN}", grant_type="client_credentials")
        assert token["token_type"] == "Bearer" and token["scope"] == "lookup sync"
        answer = await oauth.post("/v1/lookup", json=ACCOUNT)
        assert answer.status_code == 200, answer.text
        assert answer.json()["listed"] is False
    async with oauth_client(app, client_id, secret, method) as oauth:
        narrowed = await oauth.fetch_token(
            f"{BASE}{TOKEN}", grant_type="client_credentials", scope="sync"
        )
        assert narrowed["scope"] == "sync"


@pytest.mark.parametrize("method", ["client_secret_post", "client_secret_basic"])
async def test_authlib_sees_invalid_client_and_invalid_scope(app: FastAPI, method: str) -> None:
    client_id, secret = await bank(app)
    async with oauth_client(app, client_id, "wrong-secret", method) as oauth:
        with pytest.raises(OAuthError) as refused:
            await oauth.fetch_token(f"{BASE}{TOKEN}", grant_type="client_credentials")
    assert refused.value.error == "invalid_client"
    assert refused.value.description == "unknown client or wrong secret"
    async with oauth_client(app, client_id, secret, method) as oauth:
        with pytest.raises(OAuthError) as scoped:
            await oauth.fetch_token(
                f"{BASE}{TOKEN}", grant_type="client_credentials", scope="admin"
            )
    assert scoped.value.error == "invalid_scope"
