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


def test_every_status_has_a_name_in_both_languages() -> None:
    from typing import get_args

    from app.console.statuses import STATUS_NAMES, status_name
    from app.disputes.schemas import DisputeStatus
    from app.flags.schemas import FlagStatus
    from app.holds.schemas import HoldStatus
    from app.portal.schemas import CitizenReportRead

    words = {
        *(s.value for s in FlagStatus),
        *get_args(HoldStatus),
        *get_args(DisputeStatus),
        *get_args(CitizenReportRead.model_fields["status"].annotation),
    }
    assert words <= set(STATUS_NAMES), words - set(STATUS_NAMES)
    vi, en = translations("vi"), translations("en")
    untranslated = sorted(w for w in words if status_name(vi, w) == STATUS_NAMES[w])
    assert not untranslated, untranslated
    assert status_name(vi, "requested") == "Đã đề nghị"
    assert status_name(en, "requested") == "Requested"
    # "Reported" is also a date column, with its own translation: the context keeps both.
    assert vi.gettext("Reported") == "Ngày báo cáo"
    assert status_name(vi, "reported") == "Đã báo cáo"
    assert status_name(vi, "something-new") == "something-new"


def test_categories_show_by_name_in_the_page_language() -> None:
    from app.console.statuses import category_name

    assert category_name("vi", "FAKE_SHOP") != "FAKE_SHOP"
    assert category_name("en", "FAKE_SHOP") != category_name("vi", "FAKE_SHOP")
    assert category_name("vi", "NOT_A_CODE") == "NOT_A_CODE"
