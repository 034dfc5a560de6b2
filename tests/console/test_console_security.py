"""The console's defences over plain HTTP requests (SPEC §12, issue 14 "Security")."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from app.console.session import SESSION_COOKIE
from app.db.types import utcnow
from app.db.unit_of_work import unchained_write
from app.models import ConsoleSession
from tests.console.support import (
    PASSWORD,
    browser,
    csrf_of,
    enrol,
    invite,
    log_in,
    signed_in_person,
)
from tests.factories import make_caller, make_org


async def test_the_session_cookie_is_host_prefixed_secure_httponly_strict(app: FastAPI) -> None:
    await make_org(app, "C06", "police")
    async with browser(app) as http:
        person = await enrol(http, await invite(app, "C06", "an.nguyen", "analyst"), "an.nguyen")
        response = await log_in(http, person)
        header = next(
            v
            for k, v in response.headers.multi_items()
            if k == "set-cookie" and SESSION_COOKIE in v
        )
        lowered = header.lower()
        assert header.startswith(f"{SESSION_COOKIE}=")
        assert "secure" in lowered and "httponly" in lowered and "samesite=strict" in lowered
        assert "path=/" in lowered and "domain" not in lowered
        page = await http.get("/console/")
        csp = page.headers["content-security-policy"]
        assert "script-src" not in csp and "default-src 'none'" in csp
        assert page.headers["x-frame-options"] == "DENY"


async def test_a_change_without_the_csrf_token_is_refused(app: FastAPI) -> None:
    await make_org(app, "VCB", "bank", "VCB")
    async with browser(app) as http:
        await signed_in_person(app, http, "VCB", "lan.tran", "fraud_officer")
        form = {"kind": "phone", "identifier": "0912345678", "category": "FAKE_SHOP"}
        assert (await http.post("/console/flags/new", data=form)).status_code == 403
        bad = {**form, "csrf": "x" * 43}
        assert (await http.post("/console/flags/new", data=bad)).status_code == 403
        assert (await http.post("/console/logout", data={})).status_code == 403
        # Sign-in itself needs its double-submit token.
        login = {"username": "lan.tran", "password": PASSWORD, "code": "000000"}
        assert (await http.post("/console/login", data=login)).status_code == 403


async def test_login_issues_a_new_session_and_logout_ends_it(app: FastAPI) -> None:
    await make_org(app, "C06", "police")
    async with browser(app) as http:
        person = await enrol(http, await invite(app, "C06", "an.nguyen", "analyst"), "an.nguyen")
        http.cookies.set(SESSION_COOKIE, "planted-by-an-attacker-0123456789", domain="console.test")
        await log_in(http, person)
        token = http.cookies.get(SESSION_COOKIE)
        assert token and token != "planted-by-an-attacker-0123456789"
        home = await http.get("/console/")
        assert home.status_code == 200
        out = await http.post("/console/logout", data={"csrf": csrf_of(home.text)})
        assert out.status_code == 303
    # The old cookie, replayed after logout, reaches nothing.
    async with browser(app) as replay:
        replay.cookies.set(SESSION_COOKIE, token, domain="console.test")
        again = await replay.get("/console/")
        assert again.status_code == 303 and again.headers["location"] == "/console/login"


async def test_an_idle_session_expires(app: FastAPI) -> None:
    await make_org(app, "C06", "police")
    async with browser(app) as http:
        await signed_in_person(app, http, "C06", "an.nguyen", "analyst")
        assert (await http.get("/console/")).status_code == 200
        async with unchained_write(app.state.runtime.db) as session:
            await session.execute(
                update(ConsoleSession).values(last_seen_at=utcnow() - timedelta(minutes=16))
            )
        assert (await http.get("/console/")).status_code == 303


async def test_disabling_a_user_ends_their_session_at_once(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    from app.auth.actor import Actor
    from app.db.unit_of_work import unit_of_work
    from app.users.repository import UserRepository
    from app.users.service import disable_user

    await make_org(app, "C06", "police")
    async with browser(app) as http:
        await signed_in_person(app, http, "C06", "an.nguyen", "analyst")
        async with app.state.runtime.db.read_session() as session:
            found = await UserRepository(session).by_username("an.nguyen")
        assert found is not None
        async with unit_of_work(app.state.runtime.db, Actor.command_line()) as uow:
            await disable_user(uow, found[0].id)
        assert (await http.get("/console/")).status_code == 303


async def test_a_totp_code_is_accepted_once(app: FastAPI) -> None:
    await make_org(app, "C06", "police")
    async with browser(app) as http:
        person = await enrol(http, await invite(app, "C06", "an.nguyen", "analyst"), "an.nguyen")
        page = await http.get("/console/login")
        form = {
            "csrf": csrf_of(page.text),
            "username": person.username,
            "password": PASSWORD,
            "code": person.code(),
        }
        assert (await http.post("/console/login", data=form)).status_code == 303
    async with browser(app) as other:
        page = await other.get("/console/login")
        form["csrf"] = csrf_of(page.text)
        assert (await other.post("/console/login", data=form)).status_code == 401


async def test_failed_logins_are_limited_without_locking_the_user_out_elsewhere(
    app: FastAPI,
) -> None:
    await make_org(app, "C06", "police")
    async with browser(app) as http:
        person = await enrol(http, await invite(app, "C06", "an.nguyen", "analyst"), "an.nguyen")
        page = await http.get("/console/login")
        wrong = {
            "csrf": csrf_of(page.text),
            "username": "an.nguyen",
            "password": "not the password",
            "code": "123456",
        }
        statuses = [(await http.post("/console/login", data=wrong)).status_code for _ in range(7)]
        assert statuses[:5] == [401] * 5 and statuses[5:] == [429, 429]
        # From this address even the right password is refused for now ...
        right = {**wrong, "password": PASSWORD}
        assert (await http.post("/console/login", data=right)).status_code == 429
    # ... while the user, from another address, still signs in.
    transport = httpx.ASGITransport(app=app, client=("10.0.0.9", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="https://console.test") as elsewhere:
        assert (await log_in(elsewhere, person)).status_code == 303


async def test_another_organisations_flag_is_not_found(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    acb = await make_caller(app, client, "ACB", "bank", "ACB")
    body = {"subject": {"kind": "phone", "identifier": "0912345678"}, "category": "FAKE_SHOP"}
    flag = (await client.post("/v1/flags", json=body, headers=acb.headers)).json()
    await make_org(app, "VCB", "bank", "VCB")
    async with browser(app) as http:
        await signed_in_person(app, http, "VCB", "lan.tran", "fraud_officer")
        assert (await http.get(f"/console/flags/{flag['id']}")).status_code == 404
        missing = "00000000-0000-4000-8000-000000000000"
        assert (await http.get(f"/console/flags/{missing}")).status_code == 404


@pytest.mark.parametrize(
    "value", ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "a\x00b"]
)
async def test_no_reflected_value_becomes_markup(app: FastAPI, value: str) -> None:
    await make_org(app, "C06", "police")
    async with browser(app) as http:
        await signed_in_person(app, http, "C06", "an.nguyen", "analyst")
        page = await http.get("/console/search", params={"q": value})
        assert page.status_code in (200, 422)
        assert "<script>alert" not in page.text and "<img src=x" not in page.text
    async with browser(app) as anonymous:
        login = await anonymous.get("/console/login")
        form = {"csrf": csrf_of(login.text), "username": value, "password": "x", "code": "1"}
        answer = await anonymous.post("/console/login", data=form)
        assert answer.status_code in (401, 422)
        assert "<script>alert" not in answer.text and "<img src=x" not in answer.text


@pytest.mark.parametrize(
    "change", [{"role": "supervisor"}, {"password_hash": "$argon2id$v=19$forged"}]
)
async def test_a_role_or_password_changed_behind_the_chain_is_detected(
    app: FastAPI, change: dict[str, str]
) -> None:
    from app.audit.state import verify_state
    from app.models import StaffUser

    await make_org(app, "C06", "police")
    await invite(app, "C06", "an.nguyen", "analyst")
    async with app.state.runtime.db.read_session() as session:
        assert await verify_state(session) is None
    async with unchained_write(app.state.runtime.db) as session:  # a DBA's direct edit
        await session.execute(update(StaffUser).values(**change))
    async with app.state.runtime.db.read_session() as session:
        mismatch = await verify_state(session)
    assert mismatch is not None and mismatch.entity_type == "user"
