"""What portal pages list: banks and e-wallets to choose from, scam methods (cached for a
minute, as ``GET /v1/typologies`` is) and the newest bulletins."""

from __future__ import annotations

import time
from functools import cache

from fastapi import Request

from app.db.types import utcnow
from app.portal.repository import BulletinRepository, BulletinRow
from app.portal.trends import Method, scam_methods
from app.reference.catalogue import banks, ewallets

CACHE_SECONDS = 60.0


@cache
def bank_choices() -> tuple[tuple[str, str], ...]:
    """(BIN, "VCB · Ngân hàng TMCP Ngoại thương Việt Nam"), by short name: a select
    jumps to a bank as its short name is typed."""
    listed = sorted(banks(), key=lambda b: b.short_name.upper())
    return tuple((b.bin, f"{b.short_name} · {b.name}") for b in listed)


@cache
def wallet_choices() -> tuple[tuple[str, str], ...]:
    return tuple((w.code, w.name.split(" - ")[0].split(" (")[0]) for w in ewallets())


async def methods_now(request: Request) -> list[Method]:
    """The scam methods, fastest rising first, counted at most once a minute per process."""
    cached: tuple[float, list[Method]] | None = getattr(request.app.state, "scam_methods", None)
    if cached is not None and time.monotonic() < cached[0]:
        return cached[1]
    async with request.app.state.runtime.db.read_session() as session:
        methods = await scam_methods(session, utcnow())
    request.app.state.scam_methods = (time.monotonic() + CACHE_SECONDS, methods)
    return methods


async def latest_bulletins(request: Request, limit: int) -> list[BulletinRow]:
    async with request.app.state.runtime.db.read_session() as session:
        return await BulletinRepository(session).latest(limit)
