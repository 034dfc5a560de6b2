"""Hold figures of a report window (SPEC §10): holds requested, held, returned VND and the
median time to respond, from the holds' change events alone."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence

from app.audit.vocabulary import Action
from app.reports.periods import Window
from app.reports.repository import HoldEvent
from app.reports.schemas import HoldFigures

SECONDS_PER_HOUR = 3_600


def hold_figures(events: Sequence[HoldEvent], window: Window) -> HoldFigures:
    """Count the events of ``window``; ``events`` are every counted hold event before its
    end, in chain order, so each return's amount is the step over the hold's last one."""
    counts: Counter[str] = Counter()
    held_vnd = returned_vnd = 0
    hours: list[float] = []
    returned_so_far: dict[str, int] = {}
    for event in events:
        step = 0
        if event.action == Action.RETURN:
            step = event.returned_vnd - returned_so_far.get(event.hold_id, 0)
            returned_so_far[event.hold_id] = event.returned_vnd
        if not window.start <= event.occurred_at < window.end:
            continue
        counts[event.action] += 1
        returned_vnd += step
        if event.action == Action.HELD:
            held_vnd += event.held_vnd
        if event.action in (Action.HELD, Action.DECLINED) and event.responded_at is not None:
            hours.append((event.responded_at - event.created_at).total_seconds() / SECONDS_PER_HOUR)
    return HoldFigures(
        requested=counts["requested"],
        held=counts["held"],
        declined=counts["declined"],
        confirmed=counts["confirmed"],
        lapsed=counts["lapsed"],
        held_vnd=held_vnd,
        returned_vnd=returned_vnd,
        median_hours_to_respond=round(statistics.median(hours), 2) if hours else None,
    )
