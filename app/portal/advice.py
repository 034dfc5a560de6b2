"""What a citizen should do, for a check's level and the scam methods reported."""

from __future__ import annotations

from collections.abc import Sequence

from app.portal.language import gettext
from app.typologies.service import advice


def verdict(level: str, locale: str) -> tuple[str, str]:
    """The headline and the sentence under it, for a level."""
    _ = gettext(locale)
    if level == "confirmed":
        return (
            _("Confirmed by police as used for fraud: do not pay"),
            _("Police have confirmed that this account is used by scammers."),
        )
    if level == "reported":
        return (
            _("Reported by organisations: be careful"),
            _(
                "Banks or other organisations have reported this account. Police have not "
                "confirmed it yet."
            ),
        )
    return (
        _("No reports: this does not mean it is safe"),
        _(
            "Nobody has reported this account to the registry yet. New scam accounts appear "
            "every day."
        ),
    )


def general_steps(level: str, locale: str) -> list[str]:
    _ = gettext(locale)
    steps = []
    if level == "confirmed":
        steps.append(_("Do not transfer any money to this account."))
    elif level == "reported":
        steps.append(_("Do not transfer money until you are sure who receives it."))
    else:
        steps.append(_("Check who you are paying through a channel you already trust."))
    steps.append(
        _(
            "If you have already paid, call your bank's hotline at once and ask them to stop "
            "the transfer."
        )
    )
    steps.append(_("Report the scam to the police: call 113 or go to the nearest police station."))
    return steps


def advice_lines(level: str, categories: Sequence[str], locale: str) -> list[str]:
    """The steps for the level, then each reported method's own advice, without repeats."""
    texts = advice()
    field = "advice_en" if locale == "en" else "advice_vi"
    lines = general_steps(level, locale)
    for code in categories:
        for line in texts.get(code, {}).get(field, []):
            if line not in lines:
                lines.append(line)
    return lines
