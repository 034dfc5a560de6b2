"""The console's recovery ledger (``/console/recovery``): a bank fraud officer records
freezes, releases and returns for the accounts its bank holds, through the service of
``POST /v1/recoveries``; the service's rules come back as the page's message."""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from app.auth.actor import Actor
from app.db.unit_of_work import unit_of_work
from app.models import IdempotencyRecord, RecoveryEntry
from app.pagination import encode_cursor
from app.recovery.schemas import RecoveryCreate
from app.recovery.service import record_entry
from tests.console.support import browser, csrf_of, signed_in_person
from tests.factories import make_caller, make_org

VCB_ACCOUNT = {"kind": "bank_account", "institution": "VCB", "identifier": "0011002345678"}
VCB_KEY = "bank_account:970436:0011002345678"
TCB_ACCOUNT = {"kind": "bank_account", "institution": "TCB", "identifier": "19033344455"}
TCB_KEY = "bank_account:970407:19033344455"
KEY_FIELD = re.compile(r'name="idempotency_key" value="([^"]+)"')


def form_of(page: str, **fields: str) -> dict[str, str]:
    """The record form as the page gives it (csrf, idempotency key), filled in."""
    found = KEY_FIELD.search(page)
    assert found, page[:2000]
    base = {
        "csrf": csrf_of(page),
        "idempotency_key": found.group(1),
        "action": "freeze",
        "kind": "bank_account",
        "institution": "VCB",
        "identifier": "0011 0023 45678",
        "amount": "8.000.000",
        "case_reference": "HS-2026-01",
        "note": "",
    }
    return {**base, **fields}


async def entries(app: FastAPI) -> int:
    async with app.state.runtime.db.read_session() as session:
        count = await session.execute(select(func.count()).select_from(RecoveryEntry))
    return int(count.scalar() or 0)


async def ledger(client: httpx.AsyncClient, headers: dict[str, str], key: str) -> dict[str, int]:
    answer = await client.get(f"/v1/subjects/{quote(key, safe='')}/recoveries", headers=headers)
    assert answer.status_code == 200, answer.text
    totals: dict[str, int] = answer.json()["totals"]
    return totals


async def officer(app: FastAPI, http: httpx.AsyncClient) -> str:
    """A VCB fraud officer signed in; the ledger page's HTML."""
    await signed_in_person(app, http, "VCB", "lan.tran", "fraud_officer")
    page = await http.get("/console/recovery")
    assert page.status_code == 200, page.text
    return page.text


async def test_an_officer_freezes_releases_and_returns_and_sees_the_case_totals(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    police = await make_caller(app, client, "C06", "police")
    await make_org(app, "VCB", "bank", "VCB")
    async with browser(app) as http:
        page = await officer(app, http)
        assert "Sổ thu hồi tài sản" in page  # Vietnamese by default
        assert 'href="/console/recovery"' in page  # in the nav
        frozen = await http.post("/console/recovery", data=form_of(page))
        assert frozen.status_code == 303, frozen.text
        assert frozen.headers["location"] == "/console/recovery?recorded=1"
        shown = (await http.get(frozen.headers["location"])).text
        assert "Bút toán đã được ghi nhận." in shown
        assert VCB_KEY in shown and "HS-2026-01" in shown
        assert "8.000.000 ₫" in shown
        release = form_of(shown, action="release", amount="3.000.000")
        assert (await http.post("/console/recovery", data=release)).status_code == 303
        shown = (await http.get("/console/recovery")).text
        back = form_of(shown, action="return", amount="2000000 ₫")
        assert (await http.post("/console/recovery", data=back)).status_code == 303
        shown = (await http.get("/console/recovery?lang=en")).text
    assert await ledger(client, police.headers, VCB_KEY) == {
        "frozen_vnd": 8_000_000,
        "released_vnd": 3_000_000,
        "returned_vnd": 2_000_000,
        "held_vnd": 3_000_000,
    }
    totals = shown.split('id="case-totals"')[1].split("</table>")[0]
    case_row = r"<tr><td>" + re.escape(VCB_KEY) + r"</td><td>HS-2026-01</td>(.*?)</tr>"
    row = re.search(case_row, totals)
    assert row, totals
    cells = re.findall(r'<td class="num">([^<]*)</td>', row.group(1))
    assert cells == ["8,000,000 ₫", "3,000,000 ₫", "2,000,000 ₫", "3,000,000 ₫"]
    # Newest first, in Vietnam time.
    listed = shown.split('id="entries"')[1]
    assert listed.index("Return to victims") < listed.index("Release") < listed.index("Freeze")
    history = await client.get(
        f"/v1/subjects/{quote(VCB_KEY, safe='')}/history", headers=police.headers
    )
    recorded = [e for e in history.json()["items"] if e["entity_type"] == "recovery"]
    assert {e["actor_client"] for e in recorded} == {"user:lan.tran"}


async def test_taking_out_more_than_the_case_holds_is_refused_on_the_page(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await make_org(app, "VCB", "bank", "VCB")
    async with browser(app) as http:
        page = await officer(app, http)
        assert (await http.post("/console/recovery", data=form_of(page))).status_code == 303
        page = (await http.get("/console/recovery")).text
        for action in ("release", "return"):
            too_much = form_of(page, action=action, amount="8.000.001")
            refused = await http.post("/console/recovery", data=too_much)
            assert refused.status_code == 422, refused.text
            assert 'role="alert"' in refused.text
            assert f"cannot {action} 8000001 VND: case HS-2026-01 holds 8000000 VND" in refused.text
            assert 'value="8.000.001"' in refused.text  # the form keeps what was typed
        # Another case holds nothing: one case's freeze never pays out another's.
        other = form_of(page, action="release", amount="1", case_reference="HS-OTHER")
        refused = await http.post("/console/recovery", data=other)
        assert refused.status_code == 422 and "holds 0 VND" in refused.text
        # Phone numbers hold no money: not the bank's, so not found.
        phone = form_of(page, kind="phone", institution="", identifier="0912345678")
        assert (await http.post("/console/recovery", data=phone)).status_code in (404, 422)
    assert await entries(app) == 1


async def test_another_institutions_ledger_is_neither_listed_nor_movable(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    police = await make_caller(app, client, "C06", "police")
    tcb = await make_caller(app, client, "TCB", "bank", "TCB")
    await make_org(app, "VCB", "bank", "VCB")
    body = {"subject": TCB_ACCOUNT, "action": "freeze", "amount_vnd": 5_000_000}
    assert (await client.post("/v1/recoveries", json=body, headers=tcb.headers)).status_code == 201
    async with browser(app) as http:
        page = await officer(app, http)
        assert TCB_KEY not in page and "5.000.000" not in page
        for action in ("freeze", "release"):
            moved = form_of(page, action=action, institution="TCB", identifier="19033344455")
            refused = await http.post("/console/recovery", data=moved)
            assert refused.status_code == 404, refused.text
            assert "no subject" in refused.text and 'role="alert"' in refused.text
    assert await ledger(client, police.headers, TCB_KEY) == {
        "frozen_vnd": 5_000_000,
        "released_vnd": 0,
        "returned_vnd": 0,
        "held_vnd": 5_000_000,
    }
    # Police see every institution's ledger and may record anywhere.
    async with browser(app) as http:
        await signed_in_person(app, http, "C06", "an.nguyen", "analyst")
        page = (await http.get("/console/recovery")).text
        assert TCB_KEY in page and "5.000.000 ₫" in page
        freeze = form_of(page, institution="TCB", identifier="19033344455", amount="1.000")
        assert (await http.post("/console/recovery", data=freeze)).status_code == 303
        page = (await http.get("/console/recovery")).text
        phone = form_of(page, kind="phone", institution="", identifier="0912345678")
        refused = await http.post("/console/recovery", data=phone)
        assert refused.status_code == 422 and "phone numbers hold no money" in refused.text
    assert (await ledger(client, police.headers, TCB_KEY))["frozen_vnd"] == 5_001_000


@pytest.mark.parametrize(
    ("org", "kind", "role"),
    [
        ("SBV", "regulator", "supervisor"),
        ("AUD", "auditor", "auditor"),
        ("VTL", "telecom", "officer"),
    ],
)
async def test_roles_without_recovery_write_find_no_page(
    app: FastAPI, org: str, kind: str, role: str
) -> None:
    await make_org(app, org, kind)
    async with browser(app) as http:
        await signed_in_person(app, http, org, "u.ser", role)
        home = await http.get("/console/")
        assert 'href="/console/recovery"' not in home.text
        assert (await http.get("/console/recovery")).status_code == 404
        form = {"csrf": csrf_of(home.text), "idempotency_key": "k1", "action": "freeze"}
        form |= {"kind": "bank_account", "institution": "VCB", "identifier": "1", "amount": "1"}
        assert (await http.post("/console/recovery", data=form)).status_code == 404
    assert await entries(app) == 0


async def test_without_a_session_or_the_csrf_token_nothing_is_recorded(app: FastAPI) -> None:
    await make_org(app, "VCB", "bank", "VCB")
    async with browser(app) as http:
        assert (await http.get("/console/recovery")).headers["location"] == "/console/login"
        page = await officer(app, http)
        form = form_of(page)
        del form["csrf"]
        assert (await http.post("/console/recovery", data=form)).status_code == 403
        wrong = form_of(page, csrf="x" * 43)
        assert (await http.post("/console/recovery", data=wrong)).status_code == 403
    async with browser(app) as other:  # no session at all
        assert (await other.post("/console/recovery", data=form_of(page))).status_code == 303
    assert await entries(app) == 0


async def test_the_same_form_sent_twice_records_one_entry(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    police = await make_caller(app, client, "C06", "police")
    await make_org(app, "VCB", "bank", "VCB")
    async with browser(app) as http:
        page = await officer(app, http)
        form = form_of(page)
        first = await http.post("/console/recovery", data=form)
        second = await http.post("/console/recovery", data=form)
        assert first.status_code == second.status_code == 303
        # The same key with another body is refused, like the API's Idempotency-Key.
        changed = await http.post("/console/recovery", data={**form, "amount": "9.000.000"})
        assert changed.status_code == 422 and 'role="alert"' in changed.text
        # A fresh page brings a fresh key: a second freeze is a new entry.
        again = form_of((await http.get("/console/recovery")).text)
        assert again["idempotency_key"] != form["idempotency_key"]
        assert (await http.post("/console/recovery", data=again)).status_code == 303
    assert await entries(app) == 2
    assert (await ledger(client, police.headers, VCB_KEY))["frozen_vnd"] == 16_000_000
    key = (await _org_id(app, "VCB"), form["idempotency_key"])
    async with app.state.runtime.db.read_session() as session:
        kept = await session.get(IdempotencyRecord, key)
    assert kept is not None and kept.status_code == 201  # as the API keeps it


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", "-8.000.000"),
        ("amount", "0"),
        ("amount", "8,5"),
        ("amount", "8.00.000"),
        ("amount", "1e9"),
        ("amount", "99999999999999999999"),
        ("amount", "1" * 41),
        ("amount", ""),
        ("note", "frozen\x00"),
        ("case_reference", "HS\x00"),
        ("identifier", "0011\x002345678"),
        ("identifier", "<script>alert(1)</script>"),
        ("institution", "NOT-A-BANK"),
        ("kind", "phone_or_what"),
        ("action", "steal"),
        ("case_reference", "x" * 101),
        ("note", "x" * 2001),
        ("idempotency_key", ""),
        ("idempotency_key", "k" * 201),
        ("idempotency_key", "<key>"),
    ],
)
async def test_hostile_input_is_a_clear_422_never_a_500(
    app: FastAPI, field: str, value: str
) -> None:
    await make_org(app, "VCB", "bank", "VCB")
    async with browser(app) as http:
        page = await officer(app, http)
        refused = await http.post("/console/recovery", data=form_of(page, **{field: value}))
        assert refused.status_code == 422, refused.text
        assert 'role="alert"' in refused.text or "<h1>" in refused.text
        assert "<script>alert" not in refused.text
    assert await entries(app) == 0


async def test_the_amount_message_names_the_bounds_in_vietnamese(app: FastAPI) -> None:
    await make_org(app, "VCB", "bank", "VCB")
    async with browser(app) as http:
        page = await officer(app, http)
        huge = await http.post("/console/recovery", data=form_of(page, amount="2" + "0" * 15))
        assert "1.000.000.000.000.000 ₫" in huge.text and huge.status_code == 422
        odd = await http.post("/console/recovery", data=form_of(page, amount="8.5"))
        assert "Số tiền phải là số đồng nguyên" in odd.text and odd.status_code == 422


async def test_hostile_text_that_is_valid_is_stored_and_shown_escaped(app: FastAPI) -> None:
    await make_org(app, "VCB", "bank", "VCB")
    async with browser(app) as http:
        page = await officer(app, http)
        hostile = "<script>alert(1)</script>"
        form = form_of(page, case_reference=hostile, note=f"<img src=x onerror=alert(1)>{hostile}")
        assert (await http.post("/console/recovery", data=form)).status_code == 303
        shown = (await http.get("/console/recovery")).text
        assert "<script>alert" not in shown and "<img src=x" not in shown
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown


async def test_the_ledger_pages_newest_first_and_refuses_a_forged_cursor(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await make_caller(app, client, "VCB", "bank", "VCB")
    async with browser(app) as http:
        await signed_in_person(app, http, "VCB", "lan.tran", "fraud_officer")
        actor = Actor(
            org_id=await _org_id(app, "VCB"),
            org_code="VCB",
            org_kind="bank",
            institution="970436",
            client_id="test",
            jti=None,
            request_id="test",
            scopes=frozenset({"recovery:write"}),
        )
        for n in range(52):
            async with unit_of_work(app.state.runtime.db, actor) as uow:
                body = {"subject": VCB_ACCOUNT, "action": "freeze", "amount_vnd": n + 1}
                await record_entry(uow, RecoveryCreate.model_validate(body))
        first = (await http.get("/console/recovery")).text
        assert first.count("<time ") == 50
        assert "52 ₫" in first and '<td class="num">1 ₫</td>' not in first
        found = re.search(r'href="/console/recovery\?cursor=([^"]+)"', first)
        assert found
        second = await http.get(f"/console/recovery?cursor={found.group(1)}")
        assert second.status_code == 200
        assert second.text.count("<time ") == 2 and "?cursor=" not in second.text
        assert '<td class="num">1 ₫</td>' in second.text
        for cursor in (
            "not-a-cursor",
            encode_cursor(["2026-01-01T00:00:00", "x"]),  # a naive time
            encode_cursor([1, 2]),
            encode_cursor(["2026-01-01T00:00:00+00:00"]),
            "A" * 201,
            "%00",
        ):
            answer = await http.get("/console/recovery", params={"cursor": cursor})
            assert answer.status_code == 422, (cursor, answer.text)


async def _org_id(app: FastAPI, code: str) -> int:
    from app.models import Organisation

    async with app.state.runtime.db.read_session() as session:
        found = await session.execute(select(Organisation.id).where(Organisation.code == code))
    return int(found.scalar_one())
