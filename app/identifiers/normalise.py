"""Canonical forms of reported subjects (bank accounts, e-wallets, phone numbers).

Two reports about the same account must land on the same key however the reporter typed
it, so every identifier goes through :func:`normalise_subject` before it is stored or
looked up. Normalising is idempotent: a canonical subject normalises to itself.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from app.reference.catalogue import bank_bin, ewallet_code

SUBJECT_KINDS = ("bank_account", "ewallet", "phone")

# Inputs are bounded before any Unicode normalisation or phone parsing: NFKC can expand a
# single character many times over and nothing legitimate is anywhere near this long.
MAX_FIELD_LENGTH = 64
_MAX_KEY_LENGTH = 3 * MAX_FIELD_LENGTH

# Separators people paste from statements, chat messages and word processors. NFKC already
# folds full-width forms (U+FF0E, U+FF0D, U+3000) into the ASCII ones.
_SEPARATORS = str.maketrans(dict.fromkeys(" .-\u2010\u2012\u2013\u2014\u2212", None))

_ACCOUNT = re.compile(r"[0-9A-Za-z]{6,19}", re.ASCII)
_WALLET_ID = re.compile(r"[0-9A-Za-z]{4,32}", re.ASCII)
# Only strings that already look like a phone number are handed to phonenumbers: it
# would otherwise read letters as keypad digits ("0912345ABC" -> +84912345222).
_PHONE_CANDIDATE = re.compile(r"\+?[0-9]{8,15}", re.ASCII)
_PHONE_PUNCTUATION = str.maketrans(dict.fromkeys("()", None))
_MOBILE_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)

_ACCOUNT_REASON = (
    "account number must be 6-19 characters of 0-9 and A-Z after removing spaces, dots and dashes"
)
_WALLET_REASON = (
    "wallet id must be a Vietnamese mobile number or 4-32 characters of 0-9 and A-Z"
    " after removing spaces, dots and dashes"
)
_PHONE_REASON = "phone must be a Vietnamese mobile number, e.g. 0912 345 678 or +84912345678"


class InvalidIdentifier(ValueError):
    """A subject field that cannot be normalised.

    ``field`` names the offending input (``kind``, ``institution``, ``identifier`` or
    ``key``); ``reason`` is an English sentence fit to show the caller.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Subject:
    """A normalised subject; ``institution`` is None for phone numbers."""

    kind: str
    institution: str | None
    identifier: str

    @property
    def key(self) -> str:
        """Canonical ``kind:institution:identifier`` key, e.g. ``phone::+84912345678``."""
        return f"{self.kind}:{self.institution or ''}:{self.identifier}"


def normalise_subject(kind: str, institution: str | None, identifier: str) -> Subject:
    """Return the canonical subject for user input, or raise :class:`InvalidIdentifier`.

    * ``bank_account``: institution is a BIN, bank code or short name -> 6-digit BIN;
      identifier is the account number -> ``[0-9A-Z]{6,19}``.
    * ``ewallet``: institution is an e-wallet code -> canonical code; identifier is a
      Vietnamese mobile number (-> E.164) or else an id -> ``[0-9A-Z]{4,32}``.
    * ``phone``: no institution; identifier is a Vietnamese mobile number -> E.164.
    """
    if kind not in SUBJECT_KINDS:
        raise InvalidIdentifier("kind", f"unknown kind: {kind[:MAX_FIELD_LENGTH]!r}")
    if institution is not None and len(institution) > MAX_FIELD_LENGTH:
        raise InvalidIdentifier("institution", f"longer than {MAX_FIELD_LENGTH} characters")
    if len(identifier) > MAX_FIELD_LENGTH:
        raise InvalidIdentifier("identifier", f"longer than {MAX_FIELD_LENGTH} characters")
    if kind == "bank_account":
        return Subject(kind, _bank(institution), _account_number(identifier))
    if kind == "ewallet":
        return Subject(kind, _ewallet(institution), _wallet_id(identifier))
    if institution:
        raise InvalidIdentifier("institution", "phone numbers take no institution")
    phone = _vn_mobile_e164(identifier)
    if phone is None:
        raise InvalidIdentifier("identifier", _PHONE_REASON)
    return Subject(kind, None, phone)


def parse_key(key: str) -> Subject:
    """Parse a canonical ``kind:institution:identifier`` key back into its subject.

    Keys appear in URLs, so only the canonical spelling is accepted: a key that
    normalises to something else raises ``InvalidIdentifier`` with field ``key``, as
    does a key without two colons. Invalid parts raise with that part's field.
    """
    subject = normalise_key(key)
    if subject.key != key:
        raise InvalidIdentifier("key", f"not canonical, expected {subject.key!r}")
    return subject


def normalise_key(key: str) -> Subject:
    """The subject a key typed by a person stands for: ``kind:institution:identifier``
    with each part written any way :func:`normalise_subject` accepts.

    Unlike :func:`parse_key` the key need not be canonical: ``phone::0912 345 678`` and
    ``bank_account:VCB:0011-0023-45678`` are the subjects they name. Raises
    ``InvalidIdentifier`` (field ``key`` without two colons, else the offending part's).
    """
    if len(key) > _MAX_KEY_LENGTH:
        raise InvalidIdentifier("key", f"longer than {_MAX_KEY_LENGTH} characters")
    parts = key.split(":", 2)
    if len(parts) != 3:
        raise InvalidIdentifier("key", "expected kind:institution:identifier")
    kind, institution, identifier = parts
    return normalise_subject(kind, institution or None, identifier)


def _bank(institution: str | None) -> str:
    bin_ = bank_bin(institution) if institution else None
    if bin_ is None:
        raise InvalidIdentifier("institution", f"unknown bank: {institution or ''}")
    return bin_


def _ewallet(institution: str | None) -> str:
    code = ewallet_code(institution) if institution else None
    if code is None:
        raise InvalidIdentifier("institution", f"unknown e-wallet: {institution or ''}")
    return code


def _fold(identifier: str) -> str:
    """Identifier with width/compatibility forms folded and separators dropped."""
    return unicodedata.normalize("NFKC", identifier).strip().translate(_SEPARATORS)


def _account_number(identifier: str) -> str:
    folded = _fold(identifier)
    if not _ACCOUNT.fullmatch(folded):
        raise InvalidIdentifier("identifier", _ACCOUNT_REASON)
    return folded.upper()


def _wallet_id(identifier: str) -> str:
    # Most wallets are keyed by the owner's phone number, and the same wallet must get
    # one key whether it was typed as 0912..., 84912... or +84 912...
    phone = _vn_mobile_e164(identifier)
    if phone is not None:
        return phone
    folded = _fold(identifier)
    if not _WALLET_ID.fullmatch(folded):
        raise InvalidIdentifier("identifier", _WALLET_REASON)
    return folded.upper()


@lru_cache(maxsize=65_536)
def _vn_mobile_e164(identifier: str) -> str | None:
    """E.164 form of a Vietnamese mobile number in any common spelling, else None.

    Cached: libphonenumber's parse and checks cost tens of microseconds, and a batch of
    lookups repeats the same payees; the input is at most ``MAX_FIELD_LENGTH`` characters.
    """
    candidate = _fold(identifier).translate(_PHONE_PUNCTUATION)
    if not _PHONE_CANDIDATE.fullmatch(candidate):
        return None
    try:
        number = phonenumbers.parse(candidate, "VN")
    except NumberParseException:
        return None
    if not (
        phonenumbers.is_valid_number(number)
        and phonenumbers.region_code_for_number(number) == "VN"
        and phonenumbers.number_type(number) in _MOBILE_TYPES
    ):
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)
