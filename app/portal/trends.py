"""Scam methods for citizens: each typology with its 30-day count of newly flagged
subjects, a daily series for a small chart, and how fast it is rising.

Counted from flag creation events like ``GET /v1/typologies`` (distinct subjects whose
first event of a new flag falls in the window), so they say how many, never which.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import JSON, select
from sqlalchemy import type_coerce as coerce
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.vocabulary import EntityType
from app.models import ChangeEvent
from app.reference.catalogue import Typology, typologies
from app.typologies.service import NEW_FLAG_ACTIONS, WINDOW_DAYS, advice


@dataclass(frozen=True)
class Method:
    typology: Typology
    description_vi: str
    advice_vi: tuple[str, ...]
    advice_en: tuple[str, ...]
    recent: int  # subjects newly flagged in the last WINDOW_DAYS
    previous: int  # in the WINDOW_DAYS before those
    daily: tuple[int, ...]  # the last WINDOW_DAYS, oldest first

    @property
    def code(self) -> str:
        return self.typology.code

    @property
    def rise(self) -> int:
        return self.recent - self.previous

    def name(self, locale: str) -> str:
        return self.typology.name_en if locale == "en" else self.typology.name_vi

    def description(self, locale: str) -> str:
        return self.typology.description_en if locale == "en" else self.description_vi

    def advice(self, locale: str) -> tuple[str, ...]:
        return self.advice_en if locale == "en" else self.advice_vi


async def _first_flagged(session: AsyncSession, since: datetime) -> dict[str, dict[str, datetime]]:
    """category -> subject -> the first new flag's time since ``since``."""
    category = coerce(ChangeEvent.state, JSON)["category"].as_string()
    stmt = select(category, ChangeEvent.subject_key, ChangeEvent.occurred_at).where(
        ChangeEvent.entity_type == EntityType.FLAG,
        ChangeEvent.entity_version == 1,
        ChangeEvent.action.in_(NEW_FLAG_ACTIONS),
        ChangeEvent.occurred_at >= since,
    )
    found: dict[str, dict[str, datetime]] = defaultdict(dict)
    for code, key, at in (await session.execute(stmt)).all():
        seen = found[code].get(key)
        if seen is None or at < seen:
            found[code][key] = at
    return found


def _series(firsts: dict[str, datetime], start: datetime, days: int) -> tuple[int, ...]:
    counts = [0] * days
    for at in firsts.values():
        index = (at - start) // timedelta(days=1)
        if 0 <= index < days:
            counts[index] += 1
    return tuple(counts)


async def scam_methods(session: AsyncSession, now: datetime) -> list[Method]:
    """Every typology, the fastest rising first (then the most flagged, then list order)."""
    window = timedelta(days=WINDOW_DAYS)
    start = now - window
    firsts = await _first_flagged(session, now - 2 * window)
    texts = advice()
    methods = []
    for typology in typologies():
        mine = firsts.get(typology.code, {})
        recent = {k: at for k, at in mine.items() if at >= start}
        extra = texts[typology.code]
        methods.append(
            Method(
                typology=typology,
                description_vi=extra["description_vi"],
                advice_vi=tuple(extra["advice_vi"]),
                advice_en=tuple(extra["advice_en"]),
                recent=len(recent),
                previous=len(mine) - len(recent),
                daily=_series(recent, start, WINDOW_DAYS),
            )
        )
    return rank(methods)


def rank(methods: list[Method]) -> list[Method]:
    """The fastest rising first ('new scam methods'), then the most flagged, then the
    reference list's order."""
    order = {t.code: i for i, t in enumerate(typologies())}
    return sorted(methods, key=lambda m: (-m.rise, -m.recent, order.get(m.code, 0)))
