"""Scam methods and police bulletins for citizens, and the bulletins' Atom feed."""

from __future__ import annotations

from typing import Annotated
from xml.etree import ElementTree as ET

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from app.console.pages import Lang
from app.db.types import utcnow
from app.errors import NotFound
from app.portal.chart import trend_chart
from app.portal.listings import latest_bulletins, methods_now
from app.portal.pages import PortalRoute, render
from app.portal.repository import BulletinRepository, BulletinRow
from app.portal.trends import Method
from app.reference.catalogue import typologies

router = APIRouter(include_in_schema=False, route_class=PortalRoute)

Code = Annotated[str, Path(min_length=2, max_length=64, pattern=r"^[A-Z][A-Z0-9_]*$")]
BulletinId = Annotated[str, Path(min_length=36, max_length=36, pattern=r"^[0-9a-f-]{36}$")]
ATOM = "http://www.w3.org/2005/Atom"
FEED_SIZE = 30


class PageNotFound(NotFound):
    title = "Page not found"


def _names() -> dict[str, tuple[str, str]]:
    return {t.code: (t.name_vi, t.name_en) for t in typologies()}


@router.get("/thu-doan")
async def methods(request: Request, lang: Lang = None) -> Response:
    """Every scam method, the fastest rising first ('new scam methods')."""
    listed = await methods_now(request)
    charts = {m.code: trend_chart(m.daily) for m in listed}
    return render(request, "methods.html", {"methods": listed, "charts": charts})


@router.get("/thu-doan/{code}")
async def method(request: Request, code: Code, lang: Lang = None) -> Response:
    """One scam method: what it looks like, how to recognise it, what to do, its trend."""
    found: Method | None = next((m for m in await methods_now(request) if m.code == code), None)
    if found is None:
        raise PageNotFound("no such scam method")
    bulletins = [row for row in await latest_bulletins(request, 50) if row[0].category == code]
    context = {"method": found, "chart": trend_chart(found.daily), "bulletins": bulletins[:5]}
    return render(request, "method.html", context)


@router.get("/canh-bao")
async def bulletins(request: Request, lang: Lang = None) -> Response:
    """Police bulletins about new scam methods, newest first."""
    context = {"bulletins": await latest_bulletins(request, FEED_SIZE), "names": _names()}
    return render(request, "bulletins.html", context)


@router.get("/canh-bao/{bulletin_id}")
async def bulletin(request: Request, bulletin_id: BulletinId, lang: Lang = None) -> Response:
    async with request.app.state.runtime.db.read_session() as session:
        row = await BulletinRepository(session).get(bulletin_id)
    if row is None:
        raise PageNotFound("no such bulletin")
    return render(request, "bulletin.html", {"b": row[0], "org": row[1], "names": _names()})


def atom_feed(base: str, rows: list[BulletinRow]) -> bytes:
    """RFC 4287: one entry per bulletin, its text as plain text (nothing to sanitise)."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed", {"xml:lang": "vi"})
    ET.SubElement(feed, f"{{{ATOM}}}title").text = "Cảnh báo lừa đảo mới"
    ET.SubElement(feed, f"{{{ATOM}}}id").text = f"{base}/feeds/canh-bao.xml"
    updated = rows[0][0].published_at if rows else utcnow()
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = updated.isoformat()
    ET.SubElement(feed, f"{{{ATOM}}}link", {"rel": "self", "href": f"{base}/feeds/canh-bao.xml"})
    ET.SubElement(feed, f"{{{ATOM}}}link", {"rel": "alternate", "href": f"{base}/canh-bao"})
    for bulletin, org in rows:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        ET.SubElement(entry, f"{{{ATOM}}}title").text = bulletin.title
        ET.SubElement(entry, f"{{{ATOM}}}id").text = f"urn:uuid:{bulletin.id}"
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = bulletin.published_at.isoformat()
        ET.SubElement(entry, f"{{{ATOM}}}published").text = bulletin.published_at.isoformat()
        author = ET.SubElement(entry, f"{{{ATOM}}}author")
        ET.SubElement(author, f"{{{ATOM}}}name").text = org.name
        href = f"{base}/canh-bao/{bulletin.id}"
        ET.SubElement(entry, f"{{{ATOM}}}link", {"rel": "alternate", "href": href})
        ET.SubElement(entry, f"{{{ATOM}}}content", {"type": "text"}).text = bulletin.body
    document: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return document


@router.get("/feeds/canh-bao.xml")
async def feed(request: Request) -> Response:
    """The bulletins as an Atom feed, for news readers and other sites."""
    base = request.app.state.runtime.settings.public_url.rstrip("/")
    body = atom_feed(base, await latest_bulletins(request, FEED_SIZE))
    return Response(body, media_type="application/atom+xml; charset=utf-8")
