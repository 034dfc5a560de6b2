"""Every console string has its Vietnamese translation, and formats are Vietnamese."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from app.console.i18n import translations, vietnam_time, vnd

CONSOLE = Path(__file__).parents[2] / "app" / "console"
MESSAGE = re.compile(r"""_\((?:"([^"]+)"|'([^']+)')\)""")


def used_messages() -> set[str]:
    found = set()
    for path in [*CONSOLE.glob("templates/*.html"), *CONSOLE.glob("*.py")]:
        for double, single in MESSAGE.findall(path.read_text(encoding="utf-8")):
            found.add(double or single)
    return found


def test_every_message_is_translated_to_vietnamese() -> None:
    vi = translations("vi")
    messages = used_messages()
    assert len(messages) > 50
    missing = sorted(m for m in messages if vi.gettext(m) == m)
    assert not missing, missing


def test_dates_are_vietnam_time_and_amounts_vietnamese() -> None:
    assert vietnam_time(datetime(2026, 12, 4, 20, 30, tzinfo=UTC), "vi") == "05/12/2026 03:30"
    assert vnd(8_000_000, "vi") == "8.000.000 ₫"
    assert vnd(8_000_000, "en") == "8,000,000 ₫"
