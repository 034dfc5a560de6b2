"""Dispute and recovery stories, black-box, plus `registry audit` from the command line."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.blackbox.server import REGISTRY, Server, serving
from tests.blackbox.test_registry_story import auth

ACCOUNT = {"kind": "bank_account", "institution": "970436", "identifier": "0071000123456"}
KEY = "bank_account:970436:0071000123456"
SCOPES = {
    "VCB": ("bank", "VCB", "lookup flags:write disputes:write recovery:write"),
    "ACB": ("bank", "ACB", "lookup flags:write"),
    "C06": ("police", None, "flags:write disputes:resolve history:read recovery:write"),
    "AUD": ("auditor", None, "audit:read history:read"),
}


@pytest.fixture
def server(database_url: str, key_file: Path, tmp_path: Path) -> Iterator[Server]:
    with serving(database_url, key_file, tmp_path) as srv:
        yield srv


def callers(srv: Server) -> dict[str, dict[str, str]]:
    return {
        code: {"Authorization": f"Bearer {srv.token_for_new_org(code, *org)}"}
        for code, org in SCOPES.items()
    }


def test_dispute_story(server: Server) -> None:
    who = callers(server)
    http = httpx.Client(base_url=server.url, timeout=10)

    def action() -> str:
        answer = http.post("/v1/lookup", json=ACCOUNT, headers=auth(who["VCB"])).json()
        return str(answer["action"])

    assert (
        http.post(
            "/v1/flags",
            headers=auth(who["ACB"]),
            json={"subject": ACCOUNT, "category": "TASK_SCAM"},
        ).status_code
        == 201
    )
    assert action() == "warn"
    dispute = http.post(
        "/v1/disputes",
        headers=auth(who["VCB"]),
        json={"subject": ACCOUNT, "reason": "customer's salary account"},
    )
    assert dispute.status_code == 201
    decided = http.post(
        f"/v1/disputes/{dispute.json()['id']}/resolve",
        headers=auth(who["C06"]) | {"If-Match": dispute.headers["etag"]},
        json={"outcome": "upheld", "note": "verified employer"},
    )
    assert decided.status_code == 200
    assert action() == "allow"
    history = http.get(
        f"/v1/subjects/{quote(KEY, safe='')}/history", headers=auth(who["C06"])
    ).json()["items"]
    steps = [(e["entity_type"], e["action"]) for e in history]
    assert steps == [
        ("flag", "reported"),
        ("subject", "answer_changed"),
        ("dispute", "opened"),
        ("subject", "answer_changed"),
        ("dispute", "upheld"),
        ("flag", "cleared"),
        ("subject", "answer_changed"),
    ]


def test_recovery_story_and_audit_cli(server: Server, tmp_path: Path) -> None:
    who = callers(server)
    http = httpx.Client(base_url=server.url, timeout=10)

    def entry(action: str, amount: int) -> int:
        return http.post(
            "/v1/recoveries",
            headers=auth(who["VCB"]),
            json={
                "subject": ACCOUNT,
                "action": action,
                "amount_vnd": amount,
                "case_reference": "PC02-2026-9",
            },
        ).status_code

    assert entry("freeze", 10_000_000) == 201
    assert entry("return", 6_000_000) == 201
    assert entry("release", 4_000_000) == 201
    assert entry("return", 1) == 422
    totals = http.get(
        f"/v1/subjects/{quote(KEY, safe='')}/recoveries", headers=auth(who["C06"])
    ).json()["totals"]
    assert totals == {
        "frozen_vnd": 10_000_000,
        "released_vnd": 4_000_000,
        "returned_vnd": 6_000_000,
        "held_vnd": 0,
    }

    checkpoint = tmp_path / "head.jws"
    signed = server.cli("audit", "checkpoint", "-o", str(checkpoint))
    verified = server.cli("audit", "verify", "--checkpoint", str(checkpoint))
    assert verified["ok"] and verified["head_seq"] == signed["seq"]
    assert verified["checkpoint"]["ok"]
    over_http = http.get("/v1/audit/verify", headers=auth(who["AUD"])).json()
    assert over_http["ok"] and over_http["head_hash"] == signed["hash"]
    bad = subprocess.run(
        [*REGISTRY, "audit", "verify", "--checkpoint", str(tmp_path / "x")],
        env=server.env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode != 0
