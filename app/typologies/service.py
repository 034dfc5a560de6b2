"""Fraud categories for the public, with advice and recent flag counts.

Texts come from the shipped reference list (names, English description) and from
``data/advice.json`` (Vietnamese description, advice in both languages). Counts come from
flag creation events only, so they reveal how many subjects were flagged, never which.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

from sqlalchemy import JSON, func, select
from sqlalchemy import type_coerce as coerce
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.vocabulary import Action, EntityType
from app.models import ChangeEvent
from app.reference.catalogue import typologies
from app.typologies.schemas import Typology, TypologyList

WINDOW_DAYS = 30
# A new flag's first event: a report, or a police flag that starts confirmed.
NEW_FLAG_ACTIONS = (Action.REPORTED, Action.CONFIRMED)


@cache
def advice() -> dict[str, dict[str, Any]]:
    """Vietnamese descriptions and advice per category code, read once per process."""
    text = resources.files("app.typologies").joinpath("data", "advice.json").read_text("utf-8")
    data: dict[str, dict[str, Any]] = json.loads(text)
    return data


async def newly_flagged(session: AsyncSession, since: datetime) -> dict[str, int]:
    """Distinct subjects per category with a new flag since ``since``."""
    category = coerce(ChangeEvent.state, JSON)["category"].as_string()
    pairs = (
        select(category.label("category"), ChangeEvent.subject_key)
        .where(
            ChangeEvent.entity_type == EntityType.FLAG,
            ChangeEvent.entity_version == 1,
            ChangeEvent.action.in_(NEW_FLAG_ACTIONS),
            ChangeEvent.occurred_at >= since,
        )
        .distinct()
        .subquery()
    )
    stmt = select(pairs.c.category, func.count()).group_by(pairs.c.category)
    return {code: int(n) for code, n in (await session.execute(stmt)).all()}


async def list_typologies(session: AsyncSession, now: datetime) -> TypologyList:
    """Every category of the reference list, in its order, with advice and 30-day counts."""
    counts = await newly_flagged(session, now - timedelta(days=WINDOW_DAYS))
    texts = advice()
    items = []
    for typology in typologies():
        extra = texts[typology.code]
        items.append(
            Typology(
                code=typology.code,
                name_vi=typology.name_vi,
                name_en=typology.name_en,
                description_vi=extra["description_vi"],
                description_en=typology.description_en,
                advice_vi=extra["advice_vi"],
                advice_en=extra["advice_en"],
                newly_flagged_subjects=counts.get(typology.code, 0),
            )
        )
    return TypologyList(window_days=WINDOW_DAYS, counted_at=now, items=items)
