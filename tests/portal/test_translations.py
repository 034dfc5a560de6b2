"""Every portal string has its Vietnamese translation (Babel's own extractors, so strings
split over several literals and ``%(n)s`` placeholders are found as the catalogue sees them)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_file

from app.portal.language import from_accept_language, gettext

PORTAL = Path(__file__).parents[2] / "app" / "portal"
JINJA = {"trim_blocks": "true", "lstrip_blocks": "true"}
# ``_`` only: ``gettext(locale)`` names a catalogue, not a message.
KEYWORDS = {"_": None}


def used_messages() -> set[str]:
    found: set[str] = set()
    for path in PORTAL.glob("*.py"):
        messages = extract_from_file("python", str(path), keywords=KEYWORDS)
        found.update(m for _, m, _, _ in messages if m)
    for path in PORTAL.glob("templates/*.html"):
        messages = extract_from_file(
            "jinja2.ext:babel_extract", str(path), keywords=KEYWORDS, options=JINJA
        )
        found.update(m for _, m, _, _ in messages if m)
    return {m for m in found if isinstance(m, str)}


def test_every_portal_message_is_translated_to_vietnamese() -> None:
    vi = gettext("vi")
    messages = used_messages()
    assert len(messages) > 80
    missing = sorted(m for m in messages if vi(m) == m)
    assert not missing, missing


def test_the_refusal_page_is_translated_too() -> None:
    from app.portal.pages import TOO_LARGE

    assert gettext("vi")(TOO_LARGE) != TOO_LARGE


def test_placeholders_survive_translation() -> None:
    vi = gettext("vi")
    for message in used_messages():
        if "%(" in message:
            assert vi(message) % {"n": 3, "reason": "x"}


def test_english_is_asked_for_by_the_first_choice_only() -> None:
    assert from_accept_language("en-GB,en;q=0.9") == "en"
    assert from_accept_language("vi-VN,en;q=0.5") == "vi"
    assert from_accept_language(None) == "vi"
