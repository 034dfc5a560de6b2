"""The lookup-relevant state of one listed subject, packed into a single Python int.

A worker holds every listed subject in memory (1,000,000 in the benchmark). A frozen
dataclass with a tuple and two timestamp strings costs about 400 bytes per subject; one
int holding risk level, dispute flag, an interned category-set number and both timestamps
as microseconds costs about 44. The packing is private to this module: callers see
``Listing``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_RISK_BITS = 2
_DISPUTE_BIT = 1 << _RISK_BITS
_CATEGORY_SHIFT = _RISK_BITS + 1
_CATEGORY_BITS = 24
_TIME_BITS = 60  # microseconds since 1970 (+1, so that 0 means "none"): good past year 30000
_FIRST_SHIFT = _CATEGORY_SHIFT + _CATEGORY_BITS
_LAST_SHIFT = _FIRST_SHIFT + _TIME_BITS
_TIME_MASK = (1 << _TIME_BITS) - 1
_CATEGORY_MASK = (1 << _CATEGORY_BITS) - 1


@dataclass(frozen=True, slots=True)
class Listing:
    """What a lookup answers about a subject that is listed or under dispute."""

    risk_level: int
    categories: tuple[str, ...]
    under_dispute: bool
    first_flagged_at: datetime | None
    last_changed_at: datetime | None


UNLISTED = Listing(0, (), False, None, None)


class CategorySets:
    """Interns category tuples: a million subjects share a few hundred distinct sets."""

    def __init__(self) -> None:
        self._sets: list[tuple[str, ...]] = [()]
        self._ids: dict[tuple[str, ...], int] = {(): 0}

    def number(self, categories: tuple[str, ...]) -> int:
        found = self._ids.get(categories)
        if found is None:
            found = len(self._sets)
            if found > _CATEGORY_MASK:
                raise OverflowError("too many distinct category sets")
            self._sets.append(categories)
            self._ids[categories] = found
        return found

    def get(self, number: int) -> tuple[str, ...]:
        return self._sets[number]


def _micros(value: datetime | str | None) -> int:
    if value is None:
        return 0
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    delta = value.astimezone(UTC) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds + 1


def _time(micros: int) -> datetime | None:
    return None if micros == 0 else _EPOCH + timedelta(microseconds=micros - 1)


def pack(
    sets: CategorySets,
    risk_level: int,
    categories: Any,
    under_dispute: bool,
    first_flagged_at: datetime | str | None,
    last_changed_at: datetime | str | None,
) -> int | None:
    """The packed listing, or None for a subject that is neither listed nor disputed."""
    if not risk_level and not under_dispute:
        return None
    return (
        int(risk_level)
        | (_DISPUTE_BIT if under_dispute else 0)
        | sets.number(tuple(categories or ())) << _CATEGORY_SHIFT
        | _micros(first_flagged_at) << _FIRST_SHIFT
        | _micros(last_changed_at) << _LAST_SHIFT
    )


def unpack(sets: CategorySets, packed: int) -> Listing:
    return Listing(
        risk_level=packed & 3,
        categories=sets.get(packed >> _CATEGORY_SHIFT & _CATEGORY_MASK),
        under_dispute=bool(packed & _DISPUTE_BIT),
        first_flagged_at=_time(packed >> _FIRST_SHIFT & _TIME_MASK),
        last_changed_at=_time(packed >> _LAST_SHIFT & _TIME_MASK),
    )


def pack_state(sets: CategorySets, state: dict[str, Any]) -> int | None:
    """Pack a subject event's state (timestamps as RFC 3339 strings)."""
    return pack(
        sets,
        int(state.get("risk_level") or 0),
        state.get("categories"),
        bool(state.get("under_dispute")),
        state.get("first_flagged_at"),
        state.get("last_changed_at"),
    )


def listing_from_state(state: dict[str, Any]) -> Listing:
    """A subject event's state as the ``Listing`` the lookup answers from (change feed).

    Exactly what the mirror would hold: a subject neither listed nor disputed is ``UNLISTED``
    (no dates), whatever dates its state still carries.
    """
    packed = pack_state(CategorySets(), state)
    if packed is None:
        return UNLISTED
    level = packed & 3
    return Listing(
        risk_level=level,
        categories=tuple(state.get("categories") or ()),
        under_dispute=bool(packed & _DISPUTE_BIT),
        first_flagged_at=_time(packed >> _FIRST_SHIFT & _TIME_MASK),
        last_changed_at=_time(packed >> _LAST_SHIFT & _TIME_MASK),
    )
