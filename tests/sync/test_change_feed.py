"""The change feed (SPEC §8): the whole lookup answer per entry, and 409 for a cursor ahead."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from tests.factories import Caller, make_caller
from tests.registry.test_flags_and_lookup import flag_body, lookup

SUBJECTS = [
    {"kind": "bank_account", "institution": "VCB", "identifier": f"77700{i}22"} for i in range(3)
]
ANSWER_FIELDS = (
    "key",
    "listed",
    "risk_level",
    "risk",
    "action",
    "categories",
    "under_dispute",
    "first_flagged_at",
    "last_changed_at",
)


async def replay(client: httpx.AsyncClient, bank: Caller, limit: int = 2) -> dict[str, Any]:
    replayed: dict[str, dict[str, Any]] = {}
    after = 0
    while True:
        answer = await client.get(
            "/v1/changes", params={"after": after, "limit": limit}, headers=bank.headers
        )
        assert answer.status_code == 200, answer.text
        page = answer.json()
        for item in page["items"]:
            assert item["seq"] > after and set(item) == {"seq", *ANSWER_FIELDS}
            replayed[item["key"]] = item
            after = item["seq"]
        if not page["items"]:
            assert page["next_after"] == after == page["registry_version"]
            return replayed


async def test_every_entry_carries_the_whole_answer_and_replay_equals_lookup(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    wallet = await make_caller(app, client, "MOMO", "ewallet")
    police = await make_caller(app, client, "C06", "police")
    flags = []
    for subject in SUBJECTS:
        made = await client.post("/v1/flags", json=flag_body(subject), headers=bank.headers)
        flags.append(made.json()["id"])
    other = flag_body(SUBJECTS[0]) | {"category": "FAKE_GOV_APP"}
    assert (await client.post("/v1/flags", json=other, headers=wallet.headers)).status_code == 201
    await client.post("/v1/flags", json=flag_body(SUBJECTS[1]), headers=police.headers)
    withdrawn = await client.post(
        f"/v1/flags/{flags[2]}/withdraw", headers=bank.headers | {"If-Match": '"1"'}
    )
    assert withdrawn.status_code == 200
    dispute = await client.post(
        "/v1/disputes",
        json={"subject": SUBJECTS[0], "reason": "our customer's salary account"},
        headers=bank.headers,
    )
    assert dispute.status_code == 201, dispute.text

    replayed = await replay(client, bank)
    for subject in SUBJECTS:
        current = await lookup(client, bank, subject)
        assert {f: replayed[current["key"]][f] for f in ANSWER_FIELDS} == {
            f: current[f] for f in ANSWER_FIELDS
        }
    first = replayed[(await lookup(client, bank, SUBJECTS[0]))["key"]]
    assert first["under_dispute"] is True and first["risk"] == "medium"
    assert sorted(first["categories"]) == sorted({flag_body()["category"], "FAKE_GOV_APP"})


async def test_a_cursor_ahead_of_the_registry_is_409_with_the_registry_version(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    await client.post("/v1/flags", json=flag_body(SUBJECTS[0]), headers=bank.headers)
    head = (await client.get("/v1/changes", headers=bank.headers)).json()["registry_version"]
    at_head = await client.get("/v1/changes", params={"after": head}, headers=bank.headers)
    assert at_head.status_code == 200
    assert at_head.json() == {"items": [], "next_after": head, "registry_version": head}
    for ahead in (head + 1, 2**62):
        answer = await client.get("/v1/changes", params={"after": ahead}, headers=bank.headers)
        assert answer.status_code == 409
        assert answer.headers["content-type"].startswith("application/problem+json")
        problem = answer.json()
        assert problem["type"].endswith("/cursor-ahead")
        assert problem["registry_version"] == head


async def test_hostile_cursors_are_422(app: FastAPI, client: httpx.AsyncClient) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    for after in ("-1", str(10**30), "abc", "1\x00"):
        answer = await client.get("/v1/changes", params={"after": after}, headers=bank.headers)
        assert answer.status_code == 422, (after, answer.text)
