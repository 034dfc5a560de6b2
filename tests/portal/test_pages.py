"""The portal's pages: what they show, their headers, their languages, their routes."""

from __future__ import annotations

import re
from xml.etree import ElementTree as ET

import httpx
import pytest
from fastapi import FastAPI

from app.auth.actor import Actor
from app.db.unit_of_work import unit_of_work
from app.models import Organisation
from app.portal.service import publish_bulletin
from tests.portal.support import CONFIRMED, REPORTED, at, listed_world

PAGES = ("/", "/thu-doan", "/thu-doan/FAKE_SHOP", "/canh-bao", "/bao-cao")


@pytest.mark.parametrize("path", PAGES)
async def test_pages_are_small_scriptless_and_served_with_a_strict_policy(
    app: FastAPI, path: str
) -> None:
    async with at(app) as http:
        page = await http.get(path)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert "<script" not in page.text.lower() and " style=" not in page.text
    assert not re.search(r"""(src|href)="(https?:)?//""", page.text), "an asset from elsewhere"
    assert len(page.content) < 40_000, len(page.content)
    assert '<html lang="vi">' in page.text


async def test_the_english_switch_and_its_cookie(app: FastAPI) -> None:
    async with at(app) as http:
        english = await http.get("/thu-doan?lang=en")
        assert '<html lang="en">' in english.text and "Scam methods" in english.text
        assert "registry-lang=en" in english.headers["set-cookie"]
        http.cookies.set("registry-lang", "en")
        later = await http.get("/bao-cao")
    assert '<html lang="en">' in later.text and "Report a scam" in later.text
    assert 'href="/bao-cao?lang=vi"' in later.text


async def test_the_portal_shadows_nothing(app: FastAPI) -> None:
    async with at(app) as http:
        assert (await http.get("/healthz")).status_code == 200
        assert (await http.get("/readyz")).status_code == 200
        assert (await http.get("/metrics")).status_code == 401  # a scraper's token needed
        assert (await http.get("/openapi.json")).json()["paths"]["/v1/public/check"]
        assert (await http.get("/docs")).status_code == 200
        assert (await http.get("/console/login")).status_code == 200
        assert (await http.get("/problems/rate-limited")).status_code == 200
        assert (await http.get("/v1/typologies")).status_code == 200
        assert (await http.get("/portal/static/portal.css")).status_code == 200
        missing = await http.get("/thu-doan/NOT_A_METHOD")
        assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
        assert (
            (await http.get("/v1/nothing"))
            .headers["content-type"]
            .startswith("application/problem+json")
        )


async def test_checking_by_form_shows_the_verdict_and_what_to_do(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await listed_world(app, client)
    async with at(app, lang="en") as http:
        confirmed = await http.post(
            "/kiem-tra",
            data={
                "kind": "bank_account",
                "institution": "970436",
                "identifier": CONFIRMED["identifier"],
            },
        )
        reported = await http.post(
            "/kiem-tra", data={"kind": "phone", "identifier": REPORTED["identifier"]}
        )
        unlisted = await http.post("/kiem-tra", data={"kind": "phone", "identifier": "0933000111"})
        wrong = await http.post("/kiem-tra", data={"kind": "phone", "identifier": "12"})
    assert "Confirmed by police as used for fraud: do not pay" in confirmed.text
    assert "/thu-doan/FAKE_SHOP" in confirmed.text and "bank&#39;s hotline" in confirmed.text
    assert "Reported by organisations: be careful" in reported.text
    assert "No reports: this does not mean it is safe" in unlisted.text
    assert wrong.status_code == 422 and "not a Vietnamese mobile number" in wrong.text
    for page in (confirmed, reported, unlisted):
        for secret in ("C06", "ACB", "TCB", "HCM-2026", "NGUYEN", "victim statement"):
            assert secret not in page.text


async def test_methods_rise_fastest_first_with_their_counts(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await listed_world(app, client)
    async with at(app, lang="en") as http:
        listing = await http.get("/thu-doan")
        page = await http.get("/thu-doan/TASK_SCAM")
    codes = re.findall(r'<h2><a href="/thu-doan/([A-Z_]+)">', listing.text)
    # Both rose by one subject (from none): ties keep the reference list's order.
    assert codes[:2] == ["TASK_SCAM", "FAKE_SHOP"] and len(codes) == 19
    assert "1 accounts newly flagged in the last 30 days" in page.text
    assert "How to recognise" in page.text or "how to recognise" in page.text
    assert '<svg class="trend"' in page.text and "<rect" in page.text


async def test_bulletins_appear_on_the_portal_and_in_the_atom_feed(app: FastAPI) -> None:
    runtime = app.state.runtime
    async with unit_of_work(runtime.db, Actor.command_line()) as uow:
        org = Organisation(code="C06", name="Công an TP.HCM", kind="police", active=True)
        uow.session.add(org)
        await uow.session.flush()
        await publish_bulletin(
            uow,
            org,
            title="Giả danh nhân viên điện lực <b>mới</b>",
            body="Kẻ gian gọi điện báo cắt điện & yêu cầu chuyển tiền.",
            category="IMPERSONATE_UTILITY",
        )
    async with at(app) as http:
        listing = await http.get("/canh-bao")
        home = await http.get("/")
        method = await http.get("/thu-doan/IMPERSONATE_UTILITY")
        feed = await http.get("/feeds/canh-bao.xml")
    for page in (listing, home, method):
        assert "Giả danh nhân viên điện lực &lt;b&gt;mới&lt;/b&gt;" in page.text
    assert feed.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(feed.content)  # noqa: S314 (our own feed)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = root.findall("a:entry", ns)
    assert len(entries) == 1
    assert entries[0].findtext("a:title", namespaces=ns) == "Giả danh nhân viên điện lực <b>mới</b>"
    assert entries[0].findtext("a:id", namespaces=ns).startswith("urn:uuid:")
    link = entries[0].find("a:link", ns)
    assert link is not None
    async with at(app) as http:
        single = await http.get(link.get("href", "").replace("http://127.0.0.1:8000", ""))
    assert single.status_code == 200 and "cắt điện &amp; yêu cầu" in single.text


def test_rising_methods_come_first() -> None:
    from app.portal.trends import Method, rank
    from app.reference.catalogue import typologies

    first, second, third, fourth = typologies()[:4]
    methods = [
        Method(first, "", (), (), recent=9, previous=9, daily=()),
        Method(second, "", (), (), recent=3, previous=0, daily=()),
        Method(third, "", (), (), recent=5, previous=1, daily=()),
        Method(fourth, "", (), (), recent=4, previous=1, daily=()),
    ]
    assert [m.code for m in rank(methods)] == [third.code, fourth.code, second.code, first.code]
