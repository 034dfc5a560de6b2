"""The registry story, black-box: a real `registry serve` process, the CLI and HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.blackbox.server import Server, server_env

ACCOUNT = {"kind": "bank_account", "institution": "Techcombank", "identifier": "1903-3334-4440"}
KEY = "bank_account:970407:190333344440"
MULE = {"kind": "ewallet", "institution": "momo", "identifier": "0987 654 321"}
MULE_KEY = "ewallet:MOMO:+84987654321"


@pytest.fixture
def server(database_url: str, key_file: Path, tmp_path: Path) -> Iterator[Server]:
    # A report expires 3 s after it is made, so the story can watch it happen.
    srv = Server(server_env(database_url, key_file, REGISTRY_FLAG_TTL_DAYS=str(3 / 86400)))
    srv.start(tmp_path)
    yield srv
    srv.stop()


def caller(srv: Server, code: str, kind: str, institution: str | None = None) -> dict[str, str]:
    args = ["org", "create", "--code", code, "--name", f"{code} org", "--kind", kind]
    if institution:
        args += ["--institution", institution]
    srv.cli(*args)
    client = srv.cli(
        "client",
        "create",
        "--org",
        code,
        "--scopes",
        {
            "bank": "lookup sync flags:write",
            "ewallet": "lookup flags:write",
            "police": "lookup flags:write flags:review history:read",
        }[kind],
    )
    token = httpx.post(
        f"{srv.url}/v1/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
        },
    ).json()["access_token"]
    return {"Authorization": f"Bearer {token}", "client_id": client["client_id"]}


def auth(headers: dict[str, str]) -> dict[str, str]:
    return {"Authorization": headers["Authorization"]}


def test_flag_to_lookup_to_history_story(server: Server) -> None:
    police = caller(server, "C06", "police")
    bank = caller(server, "VCB", "bank", "VCB")
    wallet = caller(server, "MOMO", "ewallet", "MOMO")
    http = httpx.Client(base_url=server.url, timeout=10)

    def look(subject: dict[str, str]) -> dict[str, object]:
        response = http.post("/v1/lookup", json=subject, headers=auth(bank))
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    assert look(ACCOUNT)["action"] == "allow"
    # Police flag: confirmed at once, the bank is told to hold.
    flag = http.post(
        "/v1/flags",
        headers=auth(police),
        json={"subject": ACCOUNT, "category": "INVESTMENT_CRYPTO", "case_reference": "PC02-1"},
    )
    assert flag.status_code == 201 and flag.json()["status"] == "confirmed"
    held = look(ACCOUNT)
    assert (held["key"], held["action"], held["risk"]) == (KEY, "hold", "high")

    # A bank report on a wallet: warn (low); a second organisation: medium.
    first = http.post(
        "/v1/flags", headers=auth(bank), json={"subject": MULE, "category": "ACCOUNT_MULE"}
    )
    assert first.status_code == 201
    low = look(MULE)
    assert (low["key"], low["action"], low["risk"]) == (MULE_KEY, "warn", "low")
    second = http.post(
        "/v1/flags", headers=auth(wallet), json={"subject": MULE, "category": "ACCOUNT_MULE"}
    )
    medium = look(MULE)
    assert (medium["action"], medium["risk"]) == ("warn", "medium")

    # The bank withdraws its report; the wallet's report expires: allow.
    withdrawn = http.post(
        f"/v1/flags/{first.json()['id']}/withdraw",
        headers=auth(bank) | {"If-Match": first.headers["etag"]},
    )
    assert withdrawn.status_code == 200
    assert look(MULE)["risk"] == "low"
    time.sleep(3.2)
    assert server.cli("expire")["expired"] == 1
    deadline = time.monotonic() + 2
    while look(MULE)["action"] != "allow" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert look(MULE)["action"] == "allow"

    # History shows every step; as_of and version reproduce earlier answers.
    url = f"/v1/subjects/{quote(MULE_KEY, safe='')}"
    history = http.get(f"{url}/history", headers=auth(police)).json()["items"]
    flag_steps = [(e["entity_id"], e["action"]) for e in history if e["entity_type"] == "flag"]
    assert flag_steps == [
        (first.json()["id"], "reported"),
        (second.json()["id"], "reported"),
        (first.json()["id"], "withdrawn"),
        (second.json()["id"], "expired"),
    ]
    answers = [e["state"]["risk_level"] for e in history if e["entity_type"] == "subject"]
    assert answers == [1, 2, 1, 0]
    then = http.get(url, params={"version": medium["registry_version"]}, headers=auth(police))
    assert then.json()["risk"] == "medium" and then.json()["action"] == "warn"
    medium_event = [e for e in history if e["entity_type"] == "subject"][1]
    as_of = http.get(url, params={"as_of": medium_event["occurred_at"]}, headers=auth(police))
    assert as_of.json()["risk"] == "medium"

    # The change feed replays to the same answers.
    replayed: dict[str, int] = {}
    after = 0
    while page := http.get(
        "/v1/changes", params={"after": after, "limit": 1}, headers=auth(bank)
    ).json()["items"]:
        replayed.update({item["key"]: item["risk_level"] for item in page})
        after = page[-1]["seq"]
    assert replayed == {KEY: 3, MULE_KEY: 0}


def test_revoked_client_stops_working_on_a_running_server(server: Server) -> None:
    bank = caller(server, "VCB", "bank", "VCB")
    http = httpx.Client(base_url=server.url, timeout=10)
    assert http.post("/v1/lookup", json=ACCOUNT, headers=auth(bank)).status_code == 200
    server.cli("client", "revoke", bank["client_id"])
    time.sleep(0.5)  # the server follows the change feed every 0.2 s
    response = http.post("/v1/lookup", json=ACCOUNT, headers=auth(bank))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
