"""``registry user create|roles|disable`` and the admin users API agree on the rules."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
from fastapi import FastAPI

from tests.blackbox.server import REGISTRY, server_env
from tests.factories import make_caller, make_org


def registry(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*REGISTRY, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_user_create_prints_an_enrolment_link_and_roles_lists_each_role(
    database_url: str, key_file: Path
) -> None:
    env = server_env(database_url, key_file, REGISTRY_PUBLIC_URL="https://registry.example")
    assert (
        registry(
            env, "org", "create", "--code", "C06", "--name", "PC02", "--kind", "police"
        ).returncode
        == 0
    )
    done = registry(
        env,
        "user",
        "create",
        "--org",
        "C06",
        "--username",
        "an.nguyen",
        "--role",
        "analyst",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    user = json.loads(done.stdout)
    assert user["enrolment_url"].startswith("https://registry.example/console/enrol/")
    assert user["status"] == "invited" and "flags:review" in user["scopes"]
    # A bank role for the police, a second user of the same name: refused, exit 1.
    wrong = registry(
        env, "user", "create", "--org", "C06", "--username", "b.le", "--role", "fraud_officer"
    )
    assert wrong.returncode == 1 and "no role fraud_officer" in wrong.stderr
    again = registry(
        env, "user", "create", "--org", "C06", "--username", "an.nguyen", "--role", "analyst"
    )
    assert again.returncode == 1 and "already exists" in again.stderr
    roles = json.loads(registry(env, "user", "roles", "--json").stdout)
    assert {"kind": "police", "role": "analyst"}.items() <= roles[0].items()
    assert {(r["kind"], r["role"]) for r in roles} >= {
        ("bank", "fraud_officer"),
        ("auditor", "auditor"),
    }
    disabled = registry(env, "user", "disable", user["id"], "--json")
    assert json.loads(disabled.stdout)["status"] == "disabled"


async def test_the_admin_api_creates_lists_and_disables_users(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    ops = await make_caller(app, client, "OPS", "operator")
    await make_org(app, "VCB", "bank", "VCB")
    body = {"org": "VCB", "username": "lan.tran", "role": "fraud_officer"}
    created = await client.post("/v1/admin/users", json=body, headers=ops.headers)
    assert created.status_code == 201, created.text
    assert created.json()["enrolment_path"].startswith("/console/enrol/")
    assert created.headers["location"] == f"/v1/admin/users/{created.json()['id']}"
    assert (await client.post("/v1/admin/users", json=body, headers=ops.headers)).status_code == 409
    police_role = {**body, "username": "x.y", "role": "analyst"}
    assert (
        await client.post("/v1/admin/users", json=police_role, headers=ops.headers)
    ).status_code == 422
    listed = (await client.get("/v1/admin/users?org=VCB", headers=ops.headers)).json()
    assert [u["username"] for u in listed["items"]] == ["lan.tran"]
    assert "enrolment_path" not in listed["items"][0]
    user_id = created.json()["id"]
    off = await client.post(f"/v1/admin/users/{user_id}/disable", headers=ops.headers)
    assert off.status_code == 200 and off.json()["status"] == "disabled"
    # A bank's token reaches none of it.
    bank = await make_caller(app, client, "ACB", "bank", "ACB")
    assert (await client.get("/v1/admin/users", headers=bank.headers)).status_code == 403
