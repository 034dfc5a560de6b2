"""What a status or a category looks like on a page: the API's word (``requested``,
``FAKE_SHOP``) is the data, the page shows its name in the reader's language.

The names live in the console catalogue under the message context ``status``, so a word
that is also a heading elsewhere ("Reported", a date column) keeps its own translation.
Pages keep the word itself in ``data-status`` / ``data-category`` for scripts and tests.
Category names come from the typologies (``app/reference/data``) in both languages."""

from __future__ import annotations

from functools import cache
from gettext import NullTranslations

from app.reference.catalogue import typologies

# Every status of flags, holds, disputes and citizen reports (SPEC §4, §8, §10, §13).
STATUS_NAMES = {
    "reported": "Reported",
    "confirmed": "Confirmed",
    "rejected": "Rejected",
    "withdrawn": "Withdrawn",
    "expired": "Expired",
    "cleared": "Cleared",
    "requested": "Requested",
    "held": "Held",
    "declined": "Declined",
    "lapsed": "Lapsed",
    "closed": "Closed",
    "cancelled": "Cancelled",
    "open": "Open",
    "upheld": "Upheld",
    "new": "New",
    "flagged": "Flagged",
}
CONTEXT = "status"


def status_name(translations: NullTranslations, status: str) -> str:
    """The name of ``status`` in the catalogue's language; an unknown word as it is."""
    name = STATUS_NAMES.get(status)
    return status if name is None else translations.pgettext(CONTEXT, name)


def categories(locale: str) -> list[tuple[str, str]]:
    """Every category (typology) as (code, name in ``locale``), for the forms' choices."""
    return [(t.code, t.name_vi if locale == "vi" else t.name_en) for t in typologies()]


@cache
def _category_names(locale: str) -> dict[str, str]:
    return dict(categories(locale))


def category_name(locale: str, code: str) -> str:
    """A category (typology) code by its name in ``locale``; an unknown code as it is."""
    return _category_names(locale).get(code, code)
