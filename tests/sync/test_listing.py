"""The packed in-memory listing gives back exactly what was packed."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from app.audit.chain import format_timestamp
from app.sync.listing import UNLISTED, CategorySets, pack, pack_state, unpack

times = st.none() | st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
)
categories = st.lists(st.sampled_from(["A01", "B02", "C03", "D04"]), max_size=4, unique=True)


@given(st.integers(0, 3), categories, st.booleans(), times, times)
def test_pack_round_trips(
    risk: int, cats: list[str], disputed: bool, first: datetime | None, last: datetime | None
) -> None:
    sets = CategorySets()
    packed = pack(sets, risk, cats, disputed, first, last)
    if not risk and not disputed:
        assert packed is None
        return
    assert packed is not None
    listing = unpack(sets, packed)
    assert listing.risk_level == risk
    assert listing.categories == tuple(cats)
    assert listing.under_dispute is disputed
    assert listing.first_flagged_at == first
    assert listing.last_changed_at == last


def test_event_state_strings_round_trip_to_the_microsecond() -> None:
    sets = CategorySets()
    when = datetime(2026, 6, 30, 16, 59, 59, 999_999, tzinfo=UTC)
    state = {
        "risk_level": 2,
        "categories": ["A01"],
        "under_dispute": False,
        "first_flagged_at": format_timestamp(when),
        "last_changed_at": None,
    }
    packed = pack_state(sets, state)
    assert packed is not None
    listing = unpack(sets, packed)
    assert listing.first_flagged_at == when
    assert listing.last_changed_at is None


def test_category_sets_are_shared() -> None:
    sets = CategorySets()
    a = pack(sets, 1, ["A01", "B02"], False, None, None)
    b = pack(sets, 3, ("A01", "B02"), False, None, None)
    assert a is not None and b is not None
    assert unpack(sets, a).categories is unpack(sets, b).categories
    assert UNLISTED.risk_level == 0
