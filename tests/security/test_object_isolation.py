"""Another organisation's object answers exactly like one that does not exist (SPEC §2).

Objects are created through the API. For each object endpoint that takes an id, the answer
for another organisation's id is compared with the answer for a never-issued id of the same
shape: status, every header but ``X-Request-ID`` and the body byte for byte, once the id
itself is masked. Lists must not show the other organisation's objects either, the probes
must leave the object untouched, and idempotency keys must not replay across organisations.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import httpx
from fastapi import FastAPI

from tests.factories import Caller, make_caller
from tests.security.support import ACCOUNT, KEY

OTHER_ACCOUNT = {"kind": "bank_account", "institution": "ACB", "identifier": "123456789"}
PHONE = {"kind": "phone", "institution": None, "identifier": "0912 345 678"}
THIRD_ACCOUNT = {"kind": "bank_account", "institution": "TCB", "identifier": "19033334444"}
IGNORED_HEADERS = frozenset({"x-request-id"})


def flag_body(subject: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"subject": subject, "category": "IMPERSONATE_AUTHORITY", "description": "x", **fields}


async def create(client: httpx.AsyncClient, caller: Caller, url: str, body: Any) -> dict[str, Any]:
    response = await client.post(url, json=body, headers=caller.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _shape(response: httpx.Response, object_id: str) -> tuple[int, list[tuple[str, str]], bytes]:
    mask = "{id}"
    headers = sorted(
        (name, value.replace(object_id, mask))
        for name, value in response.headers.items()
        if name not in IGNORED_HEADERS
    )
    return response.status_code, headers, response.content.replace(object_id.encode(), b"{id}")


async def assert_answers_like_missing(
    client: httpx.AsyncClient,
    method: str,
    template: str,
    foreign_id: str,
    caller: Caller,
    *,
    expect_status: int | None = 404,
    headers: dict[str, str] | None = None,
    json: Any = None,
) -> None:
    missing_id = str(uuid.uuid4())
    assert len(missing_id) == len(foreign_id)
    answers = []
    for object_id in (foreign_id, missing_id):
        response = await client.request(
            method,
            template.format(id=object_id),
            headers={**caller.headers, **(headers or {})},
            json=json,
        )
        answers.append(_shape(response, object_id))
    foreign, missing = answers
    where = f"{method} {template} as {caller.org} ({headers or {}})"
    if expect_status is not None:
        assert missing[0] == expect_status, f"{where}: a missing id answers {missing}"
    assert foreign == missing, f"{where}:\n  foreign id: {foreign}\n  missing id: {missing}"


async def test_another_organisations_flag_answers_like_a_missing_one(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await make_caller(app, client, "VCB", "bank")
    other_bank = await make_caller(app, client, "ACB", "bank", "ACB")
    telecom = await make_caller(app, client, "VTL", "telecom")
    flag = await create(client, owner, "/v1/flags", flag_body(OTHER_ACCOUNT))
    assert flag["status"] == "reported"

    for prober in (other_bank, telecom):
        await assert_answers_like_missing(client, "GET", "/v1/flags/{id}", flag["id"], prober)
        for if_match in ('"1"', "*"):
            await assert_answers_like_missing(
                client,
                "POST",
                "/v1/flags/{id}/withdraw",
                flag["id"],
                prober,
                headers={"If-Match": if_match},
            )
        # Without If-Match the answer may be 404 or 428, but the same for both ids.
        await assert_answers_like_missing(
            client, "POST", "/v1/flags/{id}/withdraw", flag["id"], prober, expect_status=None
        )
        key = flag["subject"]["key"]
        for query in ({"key": key}, {"status": "reported"}, {}):
            listed = await client.get("/v1/flags", params=query, headers=prober.headers)
            assert listed.status_code == 200, listed.text
            assert flag["id"] not in listed.text, (prober.org, query)

    untouched = await client.get(f"/v1/flags/{flag['id']}", headers=owner.headers)
    assert untouched.status_code == 200
    assert (untouched.json()["status"], untouched.json()["version"]) == ("reported", 1)


async def test_another_organisations_dispute_answers_like_a_missing_one(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    police = await make_caller(app, client, "C06", "police")
    opener = await make_caller(app, client, "VCB", "bank")
    other_bank = await make_caller(app, client, "ACB", "bank", "ACB")
    telecom = await make_caller(app, client, "VTL", "telecom")
    flag = await create(client, police, "/v1/flags", flag_body(ACCOUNT, case_reference="C-1"))
    dispute = await create(
        client,
        opener,
        "/v1/disputes",
        {"subject": ACCOUNT, "reason": "the holder denies it", "flag_id": flag["id"]},
    )
    assert dispute["status"] == "open"

    for prober in (other_bank, telecom):
        await assert_answers_like_missing(client, "GET", "/v1/disputes/{id}", dispute["id"], prober)
        for query in ({"key": KEY}, {"status": "open"}, {"overdue": "false"}, {}):
            listed = await client.get("/v1/disputes", params=query, headers=prober.headers)
            assert listed.status_code == 200, listed.text
            assert dispute["id"] not in listed.text, (prober.org, query)

    own = await client.get(f"/v1/disputes/{dispute['id']}", headers=opener.headers)
    assert own.status_code == 200 and own.json()["version"] == 1


async def test_another_organisations_warning_answers_like_a_missing_one(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    police = await make_caller(app, client, "C06", "police")
    receiver = await make_caller(app, client, "VCB", "bank")
    other_bank = await make_caller(app, client, "ACB", "bank", "ACB")
    await create(client, police, "/v1/flags", flag_body(ACCOUNT, case_reference="C-1"))
    answer = await client.post("/v1/lookup", json=ACCOUNT, headers=receiver.headers)
    assert answer.status_code == 200, answer.text
    warning_id = answer.json()["warning_id"]
    assert warning_id, answer.text

    for outcome in ({"outcome": "cancelled", "amount_vnd": 5}, {"outcome": "proceeded"}):
        await assert_answers_like_missing(
            client,
            "POST",
            "/v1/warnings/{id}/outcome",
            warning_id,
            other_bank,
            expect_status=404 if "amount_vnd" in outcome else None,
            json=outcome,
        )
    # The other bank's attempts left no trace: the receiver's own, different answer stands.
    own = await client.post(
        f"/v1/warnings/{warning_id}/outcome",
        json={"outcome": "proceeded", "amount_vnd": 7},
        headers=receiver.headers,
    )
    assert own.status_code == 200, own.text
    assert (own.json()["outcome"], own.json()["amount_vnd"]) == ("proceeded", 7)


async def test_dispute_flag_id_does_not_reveal_another_subjects_flag(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    police = await make_caller(app, client, "C06", "police")
    opener = await make_caller(app, client, "VCB", "bank")
    other_bank = await make_caller(app, client, "ACB", "bank", "ACB")
    await create(client, police, "/v1/flags", flag_body(ACCOUNT, case_reference="C-1"))
    foreign = await create(client, other_bank, "/v1/flags", flag_body(PHONE))

    answers = []
    for flag_id in (foreign["id"], str(uuid.uuid4())):
        body = {"subject": ACCOUNT, "reason": "the holder denies it", "flag_id": flag_id}
        response = await client.post("/v1/disputes", json=body, headers=opener.headers)
        answers.append(_shape(response, flag_id))
    assert answers[0][0] == 422, answers
    assert answers[0] == answers[1]


async def test_idempotency_keys_never_replay_across_organisations(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    first = await make_caller(app, client, "VCB", "bank")
    second = await make_caller(app, client, "ACB", "bank", "ACB")
    body = flag_body(PHONE)

    async def post(caller: Caller, key: str, payload: dict[str, Any]) -> httpx.Response:
        headers = {**caller.headers, "Idempotency-Key": key}
        return await client.post("/v1/flags", json=payload, headers=headers)

    original = await post(first, "shared-key-1", body)
    assert original.status_code == 201, original.text
    same_key_same_body = await post(second, "shared-key-1", body)
    assert same_key_same_body.status_code == 201, same_key_same_body.text
    assert same_key_same_body.json()["id"] != original.json()["id"]
    assert same_key_same_body.json()["organisation"] == "ACB"
    assert original.json()["id"] not in same_key_same_body.text

    # A different subject: VCB already holds the active flag on PHONE (SPEC §8).
    assert (await post(first, "shared-key-2", flag_body(THIRD_ACCOUNT))).status_code == 201
    other_body = await post(second, "shared-key-2", flag_body(OTHER_ACCOUNT))
    assert other_body.status_code == 201, other_body.text  # not a 422 "key reused"
    assert other_body.json()["organisation"] == "ACB"

    mine = await client.get("/v1/flags", headers=first.headers)
    assert {f["organisation"] for f in mine.json()["items"]} == {"VCB"}
    assert len(mine.json()["items"]) == 2


async def test_subject_keys_in_paths_do_not_bypass_isolation(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Per-subject reads need history:read or recovery:write; a flags-only bank that knows
    the key of another bank's subject gets a 403, not the record."""
    owner = await make_caller(app, client, "VCB", "bank")
    reporter_only = await make_caller(app, client, "ACB", "bank", "ACB", scopes="flags:write")
    flag = await create(client, owner, "/v1/flags", flag_body(OTHER_ACCOUNT))
    key = quote(flag["subject"]["key"], safe="")
    for path in (f"/v1/subjects/{key}", f"/v1/subjects/{key}/history"):
        response = await client.get(path, headers=reporter_only.headers)
        assert response.status_code == 403, (path, response.text)
        assert flag["id"] not in response.text
