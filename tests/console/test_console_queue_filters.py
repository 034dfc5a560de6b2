"""The review queue's filters: the subject's institution, the reporter's kind and the days
of the report in Vietnam time; kept by the next-page link; bad values are a 422 page."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from app.db.unit_of_work import unchained_write
from app.flags.repository import FlagRepository
from app.models import Flag
from tests.console.support import browser, signed_in_person
from tests.factories import Caller, make_caller, make_org

NEXT = re.compile(r'<a href="\?([^"]+)">')


async def flag(client: httpx.AsyncClient, caller: Caller, subject: dict[str, str]) -> str:
    body = {"subject": subject, "category": "FAKE_SHOP", "description": "shop"}
    response = await client.post("/v1/flags", json=body, headers=caller.headers)
    assert response.status_code == 201, response.text
    flag_id: str = response.json()["id"]
    return flag_id


async def reported_at(app: FastAPI, flag_id: str, moment: datetime) -> None:
    """Move a flag's report time (its created_at) for the date filters."""
    async with unchained_write(app.state.runtime.db) as session:
        await session.execute(update(Flag).where(Flag.id == flag_id).values(created_at=moment))


@pytest.fixture
async def flags(app: FastAPI, client: httpx.AsyncClient) -> dict[str, str]:
    """Three reported flags: a VCB account by a bank, a MoMo wallet by an e-wallet, a
    phone by a telecom; reported on three days around Vietnam's midnight."""
    bank = await make_caller(app, client, "VCB", "bank", "VCB")
    wallet = await make_caller(app, client, "MOMO", "ewallet", "MOMO")
    telecom = await make_caller(app, client, "VTL", "telecom")
    await make_org(app, "C06", "police")
    ids = {
        "account": await flag(
            client,
            bank,
            {"kind": "bank_account", "institution": "VCB", "identifier": "0011002345678"},
        ),
        "wallet": await flag(
            client, wallet, {"kind": "ewallet", "institution": "MOMO", "identifier": "0912345678"}
        ),
        "phone": await flag(client, telecom, {"kind": "phone", "identifier": "0987 654 321"}),
    }
    # 1 March 16:59 UTC is 23:59 on 1 March in Vietnam; 17:00 UTC is already 2 March there.
    await reported_at(app, ids["account"], datetime(2026, 3, 1, 16, 59, tzinfo=UTC))
    await reported_at(app, ids["wallet"], datetime(2026, 3, 1, 17, 0, tzinfo=UTC))
    await reported_at(app, ids["phone"], datetime(2026, 3, 3, 1, 0, tzinfo=UTC))
    return ids


async def shown(http: httpx.AsyncClient, query: str) -> set[str]:
    page = await http.get(f"/console/queue?{query}")
    assert page.status_code == 200, page.text
    return set(re.findall(r'href="/console/flags/([0-9a-f-]{36})"', page.text))


async def test_each_filter_narrows_the_queue(app: FastAPI, flags: dict[str, str]) -> None:
    account, wallet, phone = flags["account"], flags["wallet"], flags["phone"]
    async with browser(app) as http:
        await signed_in_person(app, http, "C06", "an.nguyen", "analyst")
        assert await shown(http, "") == {account, wallet, phone}
        # The institution as a code, a BIN or a short name: the subject's stored BIN.
        for spelling in ("VCB", "970436", "vietcombank"):
            assert await shown(http, f"institution={spelling}") == {account}
        assert await shown(http, "institution=MOMO") == {wallet}
        assert await shown(http, "reporter_kind=ewallet") == {wallet}
        assert await shown(http, "reporter_kind=telecom") == {phone}
        assert await shown(http, "reporter_kind=police") == set()
        # Days are Vietnam days: 23:59 on 1 March and 00:00 on 2 March fall apart.
        assert await shown(http, "reported_to=2026-03-01") == {account}
        assert await shown(http, "reported_from=2026-03-02&reported_to=2026-03-02") == {wallet}
        assert await shown(http, "reported_from=2026-03-02") == {wallet, phone}
        assert await shown(http, "reported_from=2026-03-04") == set()
        combined = "reporter_kind=bank&institution=VCB&reported_from=2026-03-01&category="
        assert await shown(http, combined) == {account}
        # The form shows the filters it was given, each control with its label.
        page = (await http.get("/console/queue?reporter_kind=bank&reported_from=2026-03-01")).text
        for control in ("institution", "reporter_kind", "reported_from", "reported_to"):
            assert f'<label for="{control}">' in page and f'id="{control}"' in page
        assert '<option value="bank" selected>' in page
        assert 'value="2026-03-01"' in page


async def test_the_next_page_keeps_the_filters(
    app: FastAPI, flags: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("app.console.work.PAGE", 1)
    async with browser(app) as http:
        await signed_in_person(app, http, "C06", "an.nguyen", "analyst")
        first = await http.get("/console/queue?reported_from=2026-03-01&institution=")
        assert first.status_code == 200
        link = NEXT.search(first.text)
        assert link, first.text
        query = unescape(link.group(1))
        assert "reported_from=2026-03-01" in query and "status" not in query
        second = await http.get(f"/console/queue?{query}")
        assert second.status_code == 200, second.text
        assert flags["wallet"] in second.text
        third = await http.get(f"/console/queue?{unescape(NEXT.search(second.text).group(1))}")  # type: ignore[union-attr]
        assert flags["phone"] in third.text and NEXT.search(third.text) is None


@pytest.mark.parametrize(
    "query",
    [
        "reporter_kind=alien",
        "reporter_kind=%3Cscript%3E",
        "institution=NOPE",
        "institution=%3Cscript%3Ealert(1)%3C/script%3E",
        "institution=%00",
        "reported_from=9999-99-99",
        "reported_from=2026-02-30",
        "reported_to=26-3-1",
        "reported_to=9999-12-31",
        "reported_from=0001-01-01",
        "reported_from=2026-03-02&reported_to=2026-03-01",
        "reported_from=%002026-03-01",
        "reporter_kind=bank%00",
        "organisation=VCB",
    ],
)
async def test_bad_filters_are_a_422_page(app: FastAPI, flags: dict[str, str], query: str) -> None:
    async with browser(app) as http:
        await signed_in_person(app, http, "C06", "an.nguyen", "analyst")
        page = await http.get(f"/console/queue?{query}")
        assert page.status_code == 422, (query, page.text)
        assert page.headers["content-type"].startswith("text/html")
        assert "<script>" not in page.text


async def test_the_queue_and_its_filters_are_police_only(
    app: FastAPI, flags: dict[str, str]
) -> None:
    async with browser(app) as http:
        await signed_in_person(app, http, "VCB", "lan.tran", "fraud_officer")
        assert (await http.get("/console/queue?institution=VCB")).status_code == 404
        assert (await http.get("/console/queue?reporter_kind=alien")).status_code == 404


async def test_home_counts_the_reported_flags(
    app: FastAPI, client: httpx.AsyncClient, flags: dict[str, str]
) -> None:
    async with app.state.runtime.db.read_session() as session:
        repository = FlagRepository(session)
        assert await repository.count(status="reported") == 3
        assert await repository.count(status="confirmed") == 0
        assert await repository.count() == 3
    async with browser(app) as http:
        await signed_in_person(app, http, "C06", "an.nguyen", "analyst")
        home = await http.get("/console/")
        assert re.search(r"</a>: 3 ", home.text), home.text


async def test_the_api_list_of_flags_is_unchanged(
    app: FastAPI, client: httpx.AsyncClient, flags: dict[str, str]
) -> None:
    police = await make_caller(app, client, "C07", "police")
    listed = await client.get("/v1/flags?status=reported", headers=police.headers)
    assert listed.status_code == 200
    assert {f["id"] for f in listed.json()["items"]} == set(flags.values())
    refused = await client.get("/v1/flags?institution=VCB", headers=police.headers)
    assert refused.status_code == 422  # the API gained no parameter
