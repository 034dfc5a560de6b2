"""Flags, risk and lookup over HTTP (in process)."""

from __future__ import annotations

from urllib.parse import quote

import httpx
from fastapi import FastAPI

from tests.factories import Caller, make_caller

ACCOUNT = {"kind": "bank_account", "institution": "VCB", "identifier": "0011 0023-45678"}
KEY = "bank_account:970436:0011002345678"


def flag_body(subject: dict[str, object] | None = None, **fields: object) -> dict[str, object]:
    return {
        "subject": subject or ACCOUNT,
        "category": "IMPERSONATE_AUTHORITY",
        "description": "called victim",
        **fields,
    }


async def lookup(client: httpx.AsyncClient, caller: Caller, subject: dict[str, object]) -> dict:  # type: ignore[type-arg]
    response = await client.post("/v1/lookup", json=subject, headers=caller.headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_unlisted_subject_is_allowed(app: FastAPI, client: httpx.AsyncClient) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    body = await lookup(client, bank, ACCOUNT)
    assert body == {
        "key": KEY,
        "listed": False,
        "risk_level": 0,
        "risk": "none",
        "action": "allow",
        "categories": [],
        "under_dispute": False,
        "first_flagged_at": None,
        "last_changed_at": None,
        "registry_version": body["registry_version"],
        "warning_id": None,
    }


async def test_risk_follows_the_spec_table(app: FastAPI, client: httpx.AsyncClient) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    wallet = await make_caller(app, client, "MOMO", "ewallet")
    police = await make_caller(app, client, "C06", "police")

    first = await client.post("/v1/flags", json=flag_body(), headers=bank.headers)
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "reported"
    assert first.json()["subject"]["key"] == KEY
    answer = await lookup(client, wallet, ACCOUNT)
    assert (answer["risk_level"], answer["risk"], answer["action"]) == (1, "low", "warn")
    assert answer["categories"] == ["IMPERSONATE_AUTHORITY"]

    # One active flag per organisation and subject (SPEC §8): the second names the first.
    again = await client.post("/v1/flags", json=flag_body(), headers=bank.headers)
    assert again.status_code == 409
    assert again.json()["flag_id"] == first.json()["id"]
    assert again.json()["type"].endswith("/duplicate-flag")
    assert (await lookup(client, wallet, ACCOUNT))["risk"] == "low"

    await client.post("/v1/flags", json=flag_body(category="FAKE_GOV_APP"), headers=wallet.headers)
    answer = await lookup(client, bank, ACCOUNT)
    assert (answer["risk_level"], answer["risk"], answer["action"]) == (2, "medium", "warn")
    assert answer["categories"] == ["FAKE_GOV_APP", "IMPERSONATE_AUTHORITY"]

    confirmed = await client.post(
        "/v1/flags", json=flag_body(case_reference="C06-2026-1"), headers=police.headers
    )
    assert confirmed.json()["status"] == "confirmed"
    answer = await lookup(client, bank, ACCOUNT)
    assert (answer["risk_level"], answer["risk"], answer["action"]) == (3, "high", "hold")
    assert answer["listed"] is True


async def test_lookup_answer_never_reveals_reporters_cases_or_holders(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    police = await make_caller(app, client, "C06", "police")
    await client.post(
        "/v1/flags",
        json=flag_body(case_reference="SECRET-CASE", holder_name="Nguyễn Văn Đức"),
        headers=police.headers,
    )
    bank = await make_caller(app, client, "VCB", "bank")
    response = await client.post("/v1/lookup", json=ACCOUNT, headers=bank.headers)
    text = response.text
    for secret in ("SECRET-CASE", "NGUYEN", "C06", "called victim"):
        assert secret not in text


async def test_normalisation_makes_one_subject(app: FastAPI, client: httpx.AsyncClient) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    await client.post(
        "/v1/flags",
        json=flag_body({"kind": "phone", "institution": None, "identifier": "0912 345 678"}),
        headers=bank.headers,
    )
    for form in ("+84912345678", "84912345678", "0912-345-678"):
        answer = await lookup(client, bank, {"kind": "phone", "identifier": form})
        assert answer["key"] == "phone::+84912345678"
        assert answer["risk"] == "low"


async def test_bad_input_is_422_naming_the_field(app: FastAPI, client: httpx.AsyncClient) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    cases = [
        ({"kind": "bank_account", "institution": "NOPE", "identifier": "123456"}, "institution"),
        ({"kind": "bank_account", "institution": "VCB", "identifier": "12"}, "identifier"),
        ({"kind": "spaceship", "institution": None, "identifier": "1"}, "kind"),
    ]
    for subject, field in cases:
        response = await client.post("/v1/lookup", json=subject, headers=bank.headers)
        assert response.status_code == 422, subject
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["loc"][-1] == field


async def test_server_set_fields_in_a_flag_body_are_rejected(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    for extra in ({"id": "x"}, {"status": "confirmed"}, {"version": 9}, {"organisation_id": 1}):
        response = await client.post("/v1/flags", json=flag_body(**extra), headers=bank.headers)
        assert response.status_code == 422, extra
    flags = (await client.get("/v1/flags", headers=bank.headers)).json()["items"]
    assert flags == []


async def test_only_police_set_case_reference_and_category_is_checked(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    case = await client.post("/v1/flags", json=flag_body(case_reference="X"), headers=bank.headers)
    assert case.status_code == 422 and case.json()["errors"][0]["loc"] == ["body", "case_reference"]
    category = await client.post(
        "/v1/flags", json=flag_body(category="NOT_A_THING"), headers=bank.headers
    )
    assert category.status_code == 422


async def test_holder_name_stored_upper_case_without_diacritics(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    response = await client.post(
        "/v1/flags", json=flag_body(holder_name="Nguyễn Văn Đức"), headers=bank.headers
    )
    assert response.json()["holder_name"] == "NGUYEN VAN DUC"


async def test_foreign_flag_is_404_like_a_missing_one(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    other = await make_caller(app, client, "ACB", "bank", "ACB")
    auditor = await make_caller(app, client, "AUD", "auditor")
    flag = (await client.post("/v1/flags", json=flag_body(), headers=bank.headers)).json()
    foreign = await client.get(f"/v1/flags/{flag['id']}", headers=other.headers)
    missing = await client.get(
        "/v1/flags/00000000-0000-0000-0000-000000000000", headers=other.headers
    )
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json() | {"detail": foreign.json()["detail"]}
    assert foreign.json()["detail"].replace(flag["id"], "X") == missing.json()["detail"].replace(
        "00000000-0000-0000-0000-000000000000", "X"
    )
    assert (await client.get(f"/v1/flags/{flag['id']}", headers=auditor.headers)).status_code == 200
    assert (await client.get("/v1/flags", headers=other.headers)).json()["items"] == []
    withdraw = await client.post(
        f"/v1/flags/{flag['id']}/withdraw", headers=other.headers | {"If-Match": '"1"'}
    )
    assert withdraw.status_code == 404


async def test_if_match_rules_on_state_changes(app: FastAPI, client: httpx.AsyncClient) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    police = await make_caller(app, client, "C06", "police")
    created = await client.post("/v1/flags", json=flag_body(), headers=bank.headers)
    flag_id = created.json()["id"]
    assert created.headers["etag"] == '"1"'
    url = f"/v1/flags/{flag_id}/confirm"
    assert (await client.post(url, headers=police.headers)).status_code == 428
    stale = await client.post(url, headers=police.headers | {"If-Match": '"7"'})
    assert stale.status_code == 412
    ok = await client.post(url, headers=police.headers | {"If-Match": '"1"'})
    assert ok.status_code == 200 and ok.json()["status"] == "confirmed"
    assert ok.headers["etag"] == '"2"'
    again = await client.post(url, headers=police.headers | {"If-Match": '"2"'})
    assert again.status_code == 409


async def test_idempotency_key_replays_and_refuses_other_body(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    headers = bank.headers | {"Idempotency-Key": "report-1"}
    first = await client.post("/v1/flags", json=flag_body(), headers=headers)
    second = await client.post("/v1/flags", json=flag_body(), headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    other = await client.post("/v1/flags", json=flag_body(description="else"), headers=headers)
    assert other.status_code == 422
    listed = (await client.get("/v1/flags", headers=bank.headers)).json()["items"]
    assert len(listed) == 1
    # Keys are per organisation: another organisation may use the same key.
    wallet = await make_caller(app, client, "MOMO", "ewallet")
    theirs = await client.post(
        "/v1/flags", json=flag_body(), headers=wallet.headers | {"Idempotency-Key": "report-1"}
    )
    assert theirs.status_code == 201 and theirs.json()["id"] != first.json()["id"]


async def test_flag_list_paginates_with_cursor(app: FastAPI, client: httpx.AsyncClient) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    for i in range(5):
        subject = {"kind": "bank_account", "institution": "VCB", "identifier": f"10000{i}99"}
        await client.post("/v1/flags", json=flag_body(subject), headers=bank.headers)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/v1/flags", params=params, headers=bank.headers)).json()
        seen += [f["id"] for f in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5
    bad = await client.get("/v1/flags", params={"cursor": "bm9wZQ"}, headers=bank.headers)
    assert bad.status_code == 422


async def test_batch_lookup_keeps_order_and_isolates_bad_items(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    police = await make_caller(app, client, "C06", "police")
    await client.post("/v1/flags", json=flag_body(), headers=police.headers)
    bank = await make_caller(app, client, "VCB", "bank")
    items = [
        ACCOUNT,
        {"kind": "bank_account", "institution": "NOPE", "identifier": "1234567"},
        {"kind": "phone", "identifier": "0912345678"},
        {"nonsense": True},
    ]
    response = await client.post("/v1/lookup/batch", json={"items": items}, headers=bank.headers)
    assert response.status_code == 200, response.text
    out = response.json()["items"]
    assert [o["index"] for o in out] == [0, 1, 2, 3]
    assert out[0]["result"]["action"] == "hold"
    assert out[1]["error"]["status"] == 422 and out[1]["result"] is None
    assert out[2]["result"]["action"] == "allow"
    assert out[3]["error"]["status"] == 422
    too_many = await client.post(
        "/v1/lookup/batch", json={"items": [ACCOUNT] * 1001}, headers=bank.headers
    )
    assert too_many.status_code == 422
    empty = await client.post("/v1/lookup/batch", json={"items": []}, headers=bank.headers)
    assert empty.status_code == 422


async def test_vietqr_lookup(app: FastAPI, client: httpx.AsyncClient) -> None:
    police = await make_caller(app, client, "C06", "police")
    await client.post(
        "/v1/flags",
        json=flag_body({"kind": "bank_account", "institution": "ACB", "identifier": "257678859"}),
        headers=police.headers,
    )
    bank = await make_caller(app, client, "VCB", "bank")
    payload = (
        "00020101021238530010A0000007270123000697041601092576788590208QRIBFTTA530370454"
        "0410005802VN62150811Chuyen tien6304BBB8"
    )
    response = await client.post(
        "/v1/lookup/vietqr", json={"payload": payload}, headers=bank.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["bin"], body["account"], body["amount_vnd"]) == ("970416", "257678859", 1000)
    assert body["key"] == "bank_account:970416:257678859" and body["action"] == "hold"
    bad = await client.post(
        "/v1/lookup/vietqr", json={"payload": payload[:-4] + "0000"}, headers=bank.headers
    )
    assert bad.status_code == 422 and "CRC" in bad.json()["detail"].upper()


async def test_subject_path_key_must_be_canonical(app: FastAPI, client: httpx.AsyncClient) -> None:
    police = await make_caller(app, client, "C06", "police")
    await client.post("/v1/flags", json=flag_body(), headers=police.headers)
    ok = await client.get(f"/v1/subjects/{quote(KEY, safe='')}", headers=police.headers)
    assert ok.status_code == 200 and ok.json()["risk"] == "high"
    bad = await client.get(
        f"/v1/subjects/{quote('bank_account:VCB:1', safe='')}", headers=police.headers
    )
    assert bad.status_code == 422
    missing = await client.get(
        f"/v1/subjects/{quote('bank_account:970436:999999999', safe='')}", headers=police.headers
    )
    assert missing.status_code == 404


async def test_batch_answers_equal_single_lookups(app: FastAPI, client: httpx.AsyncClient) -> None:
    police = await make_caller(app, client, "C06", "police")
    await client.post("/v1/flags", json=flag_body(), headers=police.headers)
    phone = {"kind": "phone", "identifier": "0987 654 321"}
    bank = await make_caller(app, client, "VCB", "bank")
    await client.post("/v1/flags", json=flag_body(phone), headers=bank.headers)
    items: list[dict[str, object]] = [
        ACCOUNT,
        {"kind": "phone", "identifier": "0912345678"},
        phone,
        ACCOUNT,  # a repeat gets the same answer and the same warning
        {"kind": "ewallet", "institution": "momo", "identifier": "0912 345 678"},
    ]
    response = await client.post("/v1/lookup/batch", json={"items": items}, headers=bank.headers)
    assert response.status_code == 200, response.text
    batch = response.json()
    singles = [await lookup(client, bank, item) for item in items]
    for got, single in zip(batch["items"], singles, strict=True):
        assert got["error"] is None
        result = got["result"]
        assert (result["warning_id"] is None) == (single["warning_id"] is None)
        ignored = {"warning_id", "registry_version"}
        assert {k: v for k, v in result.items() if k not in ignored} == {
            k: v for k, v in single.items() if k not in ignored
        }
    warnings = [item["result"]["warning_id"] for item in batch["items"]]
    assert [w is not None for w in warnings] == [True, False, True, True, False]
    assert warnings[0] == warnings[3] and len(set(w for w in warnings if w)) == 2
    assert batch["registry_version"] == batch["items"][0]["result"]["registry_version"]


async def test_batch_envelope_errors_come_from_the_framework(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    for body in (b'{"items": [1]}', b'{"items": {}, "extra": 1}', b"[" * 5000, b'{"items": "x"}'):
        response = await client.post(
            "/v1/lookup/batch",
            content=body,
            headers=bank.headers | {"Content-Type": "application/json"},
        )
        assert response.status_code == 422, (body[:20], response.text)
        assert response.headers["content-type"] == "application/problem+json"
