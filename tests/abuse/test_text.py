"""SPEC §8 "Text": a NUL or a lone surrogate in any text field is a 422 naming the field.

On PostgreSQL a NUL that reached a query was a 503 and a surrogate in a batch item a 500;
each case here sends the character the way a client can (JSON escapes in bodies, percent
escapes in URLs and forms) and expects the field named and the value never echoed.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI

from tests.factories import Caller, make_caller

# What a JSON client sends for "a NUL inside a string" and for a lone high surrogate.
BAD_JSON = {"nul": '"a\\u0000b"', "surrogate": '"x\\ud800"'}
MARK = "@@BAD@@"
PHONE = {"kind": "phone", "identifier": "0912 345 678"}
ACCOUNT = {"kind": "bank_account", "institution": "VCB", "identifier": "0011002345678"}
ZERO_ID = "00000000-0000-0000-0000-000000000000"


def with_bad(body: dict[str, Any], bad: str) -> bytes:
    """``body`` as JSON with the string MARK replaced by the raw JSON of a bad string."""
    return json.dumps(body).replace(json.dumps(MARK), BAD_JSON[bad]).encode()


def assert_names(response: httpx.Response, loc: list[Any]) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert loc in [e["loc"] for e in response.json()["errors"]], response.text
    # Never echoed back: not as an escape, not raw (a raw surrogate could not be encoded).
    assert "\\u0000" not in response.text and "\\ud800" not in response.text


# (who, path, body with MARK where the bad string goes, the loc that must be named)
BODY_CASES = [
    ("police", "/v1/flags", {"subject": PHONE, "category": "FAKE_LOAN", "description": MARK},
     ["body", "description"]),
    ("police", "/v1/flags", {"subject": PHONE, "category": "FAKE_LOAN", "holder_name": MARK},
     ["body", "holder_name"]),
    ("police", "/v1/flags", {"subject": PHONE, "category": "FAKE_LOAN", "case_reference": MARK},
     ["body", "case_reference"]),
    ("police", "/v1/flags", {"subject": PHONE, "category": MARK}, ["body", "category"]),
    ("police", "/v1/flags", {"subject": {"kind": "phone", "identifier": MARK},
     "category": "FAKE_LOAN"}, ["body", "subject", "identifier"]),
    ("police", "/v1/flags", {"subject": {**ACCOUNT, "institution": MARK},
     "category": "FAKE_LOAN"}, ["body", "subject", "institution"]),
    ("bank", "/v1/disputes", {"subject": ACCOUNT, "reason": MARK}, ["body", "reason"]),
    ("bank", "/v1/disputes", {"subject": ACCOUNT, "reason": "r", "flag_id": MARK},
     ["body", "flag_id"]),
    ("police", f"/v1/disputes/{ZERO_ID}/resolve", {"outcome": "upheld", "note": MARK},
     ["body", "note"]),
    ("police", "/v1/recoveries", {"subject": ACCOUNT, "action": "freeze", "amount_vnd": 1,
     "note": MARK}, ["body", "note"]),
    ("police", "/v1/recoveries", {"subject": ACCOUNT, "action": "freeze", "amount_vnd": 1,
     "case_reference": MARK}, ["body", "case_reference"]),
    ("bank", "/v1/lookup", {"kind": "phone", "identifier": MARK}, ["body", "identifier"]),
    ("bank", "/v1/lookup", {**ACCOUNT, "institution": MARK}, ["body", "institution"]),
    ("bank", "/v1/lookup/vietqr", {"payload": MARK}, ["body", "payload"]),
]  # fmt: skip


async def callers(app: FastAPI, client: httpx.AsyncClient) -> dict[str, Caller]:
    return {
        "police": await make_caller(app, client, "C06", "police"),
        "bank": await make_caller(app, client, "VCB", "bank"),
    }


@pytest.mark.parametrize("bad", sorted(BAD_JSON))
async def test_a_bad_character_in_any_body_field_is_a_422_naming_it(
    app: FastAPI, client: httpx.AsyncClient, bad: str
) -> None:
    who = await callers(app, client)
    for caller, path, body, loc in BODY_CASES:
        headers = who[caller].headers | {"Content-Type": "application/json", "If-Match": '"1"'}
        response = await client.post(path, content=with_bad(body, bad), headers=headers)
        assert_names(response, loc)
    # Nothing was written: the NUL never reached the database (a 503 on PostgreSQL before).
    flags = await client.get("/v1/flags", headers=who["police"].headers)
    assert flags.json()["items"] == []


@pytest.mark.parametrize("bad", sorted(BAD_JSON))
@pytest.mark.parametrize("content_type", ["application/json", "application/batch+json"])
async def test_a_bad_character_in_a_batch_item_is_that_items_error(
    app: FastAPI, client: httpx.AsyncClient, bad: str, content_type: str
) -> None:
    # application/json is answered by the ASGI fast path, the other type by the framework.
    bank = (await callers(app, client))["bank"]
    items = [
        {"kind": "phone", "identifier": MARK},
        {MARK: 1, **PHONE},  # an unknown key that is itself the bad string
        {**ACCOUNT, "institution": MARK},
        {"kind": MARK, "identifier": "0912345678"},
    ]
    body = with_bad({"items": items}, bad)
    headers = bank.headers | {"Content-Type": content_type}
    response = await client.post("/v1/lookup/batch", content=body, headers=headers)
    assert response.status_code == 200, response.text
    answers = response.json()["items"]
    assert [a["result"] is None for a in answers] == [True, True, True, True]
    expected = [["identifier"], None, ["institution"], ["kind"]]
    for index, (answer, field) in enumerate(zip(answers, expected, strict=True)):
        assert answer["error"]["status"] == 422
        locs = [e["loc"] for e in answer["error"]["errors"]]
        assert all(loc[:3] == ["body", "items", index] for loc in locs), locs
        if field is not None:
            assert ["body", "items", index, *field] in locs, locs
    assert "\\u0000" not in response.text and "\\ud800" not in response.text


async def test_a_clean_batch_next_to_a_bad_one_is_answered(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    bank = (await callers(app, client))["bank"]
    body = with_bad({"items": [PHONE, {"kind": "phone", "identifier": MARK}]}, "surrogate")
    headers = bank.headers | {"Content-Type": "application/json"}
    response = await client.post("/v1/lookup/batch", content=body, headers=headers)
    assert response.status_code == 200, response.text
    first, second = response.json()["items"]
    assert first["result"]["key"] == "phone::+84912345678" and first["error"] is None
    assert second["error"]["errors"][0]["loc"] == ["body", "items", 1, "identifier"]


@pytest.mark.parametrize(
    ("path", "loc"),
    [
        ("/v1/flags?category=%00", ["query", "category"]),
        ("/v1/flags?key=phone::%2B8491234567%00", ["query", "key"]),
        ("/v1/disputes?key=%00", ["query", "key"]),
        ("/v1/flags?x%00y=1", ["query", "x\\x00y"]),  # an unknown name, escaped
        (f"/v1/subjects/{quote('phone::+84912345678', safe='')}%00", ["path", "key"]),
        (f"/v1/subjects/{quote('phone::+84912345678', safe='')}%00/history", ["path", "key"]),
        (f"/v1/subjects/{quote('phone::+84912345678', safe='')}%00/recoveries", ["path", "key"]),
        ("/v1/flags/%00" + "0" * 35, ["path", "flag_id"]),
        ("/v1/reports/2026%00", ["path", "period"]),
    ],
)
async def test_a_nul_in_a_path_or_query_value_is_a_422_naming_it(
    app: FastAPI, client: httpx.AsyncClient, path: str, loc: list[str]
) -> None:
    police = (await callers(app, client))["police"]
    response = await client.get(path, headers=police.headers)
    assert response.status_code == 422, response.text
    assert loc in [e["loc"] for e in response.json()["errors"]], response.text
    assert "\\u0000" not in response.text


async def test_token_form_fields_with_a_nul_are_invalid_request_naming_them(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """The token endpoint answers RFC 6749 §5.2 (SPEC §8 "Token endpoint"): a NUL or a lone
    surrogate is a 400 invalid_request naming the field, not a 422 problem."""
    police = (await callers(app, client))["police"]
    good = {"grant_type": "client_credentials", "client_id": police.client_id,
            "client_secret": police.secret}  # fmt: skip
    for field in ("client_id", "client_secret", "scope", "grant_type"):
        response = await client.post("/v1/oauth/token", data={**good, field: "a\x00b"})
        assert response.status_code == 400, response.text
        body = response.json()
        assert body["error"] == "invalid_request", body
        assert body["error_description"].startswith(field), body
        assert "\\u0000" not in response.text
    # A percent-escaped surrogate is not UTF-8: refused, never replaced by U+FFFD.
    form = b"grant_type=client_credentials&client_id=%ED%A0%80&client_secret=x"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    response = await client.post("/v1/oauth/token", content=form, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    # Basic credentials are form-urlencoded too (RFC 6749 §2.3.1): %00 is malformed.
    for credentials in (f"{police.client_id}%00:{police.secret}", f"{police.client_id}:x%00"):
        basic = base64.b64encode(credentials.encode()).decode()
        response = await client.post(
            "/v1/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {basic}"},
        )
        assert response.status_code == 400, response.text
        assert response.json() == {
            "error": "invalid_request",
            "error_description": "malformed HTTP Basic credentials",
        }


async def test_headers_that_reach_the_database_never_500(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    police = (await callers(app, client))["police"]
    body = {"subject": PHONE, "category": "FAKE_LOAN"}
    # httpx sends str headers as latin-1; raw bytes pass through (e.g. a UTF-8 surrogate).
    keys: list[str | bytes] = ["a\x00b", b"\xed\xa0\x80", "\x7f", "x" * 201]
    for key in keys:
        headers = police.headers | {"Idempotency-Key": key}  # type: ignore[dict-item]
        response = await client.post("/v1/flags", json=body, headers=headers)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    created = await client.post("/v1/flags", json=body, headers=police.headers)
    assert created.status_code == 201, created.text
    confirm = f"/v1/flags/{created.json()['id']}/confirm"
    for etag in ('"1\x00"', b'"\xed\xa0\x80"', "*\x00"):
        headers = police.headers | {"If-Match": etag}  # type: ignore[dict-item]
        response = await client.post(confirm, headers=headers)
        assert 400 <= response.status_code < 500, response.text
