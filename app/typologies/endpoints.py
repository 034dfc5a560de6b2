"""``GET /v1/typologies``: public, no token."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request

from app.db.session import ReadSession
from app.db.types import utcnow
from app.typologies.schemas import TypologyList
from app.typologies.service import list_typologies

router = APIRouter(tags=["typologies"])

CACHE_SECONDS = 60.0


@router.get("/v1/typologies", response_model=TypologyList)
async def get_typologies(request: Request, session: ReadSession) -> TypologyList:
    """Every fraud category, in Vietnamese and English: how the scam works, what to do
    about it, and how many accounts, wallets and phone numbers were newly flagged under it
    in the last 30 days. Public: no token needed. Counts are refreshed once a minute."""
    # Public and unauthenticated, so no per-caller rate limit applies: answer from a short
    # per-process cache rather than query the database for every anonymous request.
    cached: tuple[float, TypologyList] | None = getattr(request.app.state, "typologies", None)
    if cached is not None and time.monotonic() < cached[0]:
        return cached[1]
    result = await list_typologies(session, utcnow())
    request.app.state.typologies = (time.monotonic() + CACHE_SECONDS, result)
    return result
