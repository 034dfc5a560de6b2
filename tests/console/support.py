"""Driving the console over HTTP in process: users, enrolment, sign-in, forms."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import httpx
import pyotp
from fastapi import FastAPI

from app.auth.actor import Actor
from app.db.unit_of_work import unit_of_work
from app.users.service import create_user

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
SECRET = re.compile(r'<code id="totp-secret">([A-Z2-7]+)</code>')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, html[:2000]
    return found.group(1)


async def invite(app: FastAPI, org: str, username: str, role: str) -> str:
    """A new user; returns the enrolment token."""
    async with unit_of_work(app.state.runtime.db, Actor.command_line()) as uow:
        _, _, token = await create_user(uow, org_code=org, username=username, role=role)
    return token


def code_after(secret: str, used: set[int]) -> str:
    """A TOTP code for a time step not used yet (a step is accepted once)."""
    totp = pyotp.TOTP(secret)
    step = int(time.time() // 30)
    while step in used:
        step += 1
    used.add(step)
    return totp.generate_otp(step)


@dataclass
class Person:
    username: str
    secret: str
    used: set[int]

    def code(self) -> str:
        return code_after(self.secret, self.used)


def browser(app: FastAPI) -> httpx.AsyncClient:
    """An HTTPS client (the cookies are Secure), following no redirects by itself."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://console.test"
    )


async def enrol(http: httpx.AsyncClient, token: str, username: str) -> Person:
    page = await http.get(f"/console/enrol/{token}")
    assert page.status_code == 200, page.text
    found = SECRET.search(page.text)
    assert found
    person = Person(username, found.group(1), set())
    done = await http.post(
        f"/console/enrol/{token}",
        data={"csrf": csrf_of(page.text), "password": PASSWORD, "code": person.code()},
    )
    assert done.status_code == 200, done.text
    return person


async def log_in(http: httpx.AsyncClient, person: Person) -> httpx.Response:
    page = await http.get("/console/login")
    return await http.post(
        "/console/login",
        data={
            "csrf": csrf_of(page.text),
            "username": person.username,
            "password": PASSWORD,
            "code": person.code(),
        },
    )


async def signed_in_person(
    app: FastAPI, http: httpx.AsyncClient, org: str, username: str, role: str
) -> Person:
    person = await enrol(http, await invite(app, org, username, role), username)
    response = await log_in(http, person)
    assert response.status_code == 303, response.text
    return person
