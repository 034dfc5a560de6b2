"""A forgotten password or a lost authenticator: the operator resets the user's credentials
(``registry user reset``, ``POST /v1/admin/users/{id}/reset``); nothing of the old ones works."""

from __future__ import annotations

import json

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from app.audit.verify import verify_chain
from app.auth.actor import Actor
from app.db.unit_of_work import unit_of_work
from app.models import ChangeEvent
from app.users.service import create_user
from tests.blackbox.server import server_env
from tests.console.support import PASSWORD, browser, enrol, log_in, signed_in_person
from tests.console.test_user_cli import registry
from tests.factories import make_caller, make_org


async def test_a_reset_ends_the_session_and_voids_password_code_and_old_link(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    ops = await make_caller(app, client, "OPS", "operator")
    await make_org(app, "C06", "police")
    async with browser(app) as http:
        person = await signed_in_person(app, http, "C06", "an.nguyen", "analyst")
        assert (await http.get("/console/queue")).status_code == 200
        user_id = (await client.get("/v1/admin/users?org=C06", headers=ops.headers)).json()[
            "items"
        ][0]["id"]
        reset = await client.post(f"/v1/admin/users/{user_id}/reset", headers=ops.headers)
        assert reset.status_code == 200, reset.text
        assert reset.json()["status"] == "invited"
        first_link = reset.json()["enrolment_path"]
        # The session in the browser is over at once.
        assert (await http.get("/console/queue")).status_code == 303
        # The old password with a fresh code of the old authenticator: refused.
        assert (await log_in(http, person)).status_code == 401
        # A second reset makes a new link; the first stops working.
        again = await client.post(f"/v1/admin/users/{user_id}/reset", headers=ops.headers)
        assert (await http.get(first_link)).status_code == 422
        renewed = await enrol(
            http, again.json()["enrolment_path"].rsplit("/", 1)[1], person.username
        )
        assert renewed.secret != person.secret
        assert (await log_in(http, renewed)).status_code == 303
    async with app.state.runtime.db.read_session() as session:
        actions = (
            await session.scalars(
                select(ChangeEvent.action)
                .where(ChangeEvent.entity_id == user_id)
                .order_by(ChangeEvent.seq)
            )
        ).all()
        verified = await verify_chain(session)
    assert verified.ok and verified.state_ok
    assert actions == ["created", "enrolled", "credentials_reset", "credentials_reset", "enrolled"]


async def test_only_the_operator_resets_and_never_a_disabled_user(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    ops = await make_caller(app, client, "OPS", "operator")
    bank = await make_caller(app, client, "VCB", "bank", "VCB")
    async with unit_of_work(app.state.runtime.db, Actor.command_line()) as uow:
        user, _, _ = await create_user(
            uow, org_code="VCB", username="lan.tran", role="fraud_officer"
        )
    url = f"/v1/admin/users/{user.id}/reset"
    assert (await client.post(url, headers=bank.headers)).status_code == 403
    missing = "/v1/admin/users/00000000-0000-0000-0000-000000000000/reset"
    assert (await client.post(missing, headers=ops.headers)).status_code == 404
    assert (await client.post(f"/v1/admin/users/{user.id}/disable", headers=ops.headers)).is_success
    refused = await client.post(url, headers=ops.headers)
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/user-disabled")


def test_registry_user_reset_prints_a_new_link(database_url: str, key_file: object) -> None:
    env = server_env(database_url, key_file, REGISTRY_PUBLIC_URL="https://registry.example")
    assert (
        registry(
            env, "org", "create", "--code", "C06", "--name", "PC02", "--kind", "police"
        ).returncode
        == 0
    )
    made = registry(
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
    user = json.loads(made.stdout)
    done = registry(env, "user", "reset", user["id"], "--json")
    assert done.returncode == 0, done.stderr
    reset = json.loads(done.stdout)
    assert reset["enrolment_url"].startswith("https://registry.example/console/enrol/")
    assert reset["enrolment_url"] != user["enrolment_url"]
    assert PASSWORD not in done.stdout
    unknown = registry(env, "user", "reset", "00000000-0000-0000-0000-000000000000")
    assert unknown.returncode == 1 and "no user" in unknown.stderr
