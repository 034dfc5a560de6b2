"""Normalisation of bank accounts, e-wallets and phones into canonical subjects and keys."""

from __future__ import annotations

import csv
import dataclasses
from importlib import resources

import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from app.identifiers.normalise import (
    SUBJECT_KINDS,
    InvalidIdentifier,
    Subject,
    normalise_key,
    normalise_subject,
    parse_key,
)
from app.reference.catalogue import Bank, EWallet, banks, ewallets

PHONE = "+84912345678"
ACCOUNT_REASON = (
    "account number must be 6-19 characters of 0-9 and A-Z after removing spaces, dots and dashes"
)
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _invalid(field: str, kind: str, institution: str | None, identifier: str) -> str:
    """Assert the input is rejected on ``field`` and return the reason."""
    with pytest.raises(InvalidIdentifier) as info:
        normalise_subject(kind, institution, identifier)
    assert info.value.field == field
    return info.value.reason


def _prefix_rows() -> list[dict[str, str]]:
    path = resources.files("app.reference").joinpath("data", "vn_mobile_prefixes.csv")
    return list(csv.DictReader(path.read_text("utf-8").splitlines()))


# --- the exception and the subject ------------------------------------------------------


def test_invalid_identifier_is_a_value_error_with_field_and_reason() -> None:
    error = InvalidIdentifier("institution", "unknown bank: XYZ")
    assert isinstance(error, ValueError)
    assert (error.field, error.reason) == ("institution", "unknown bank: XYZ")
    assert "unknown bank: XYZ" in str(error)


def test_subject_is_frozen() -> None:
    subject = Subject("phone", None, PHONE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        subject.identifier = "+84900000000"  # type: ignore[misc]


def test_keys_join_kind_institution_and_identifier() -> None:
    assert Subject("phone", None, PHONE).key == "phone::+84912345678"
    assert Subject("ewallet", "MOMO", PHONE).key == "ewallet:MOMO:+84912345678"
    assert Subject("bank_account", "970436", "0123456789").key == "bank_account:970436:0123456789"


def test_subject_kinds() -> None:
    assert SUBJECT_KINDS == ("bank_account", "ewallet", "phone")


@pytest.mark.parametrize("kind", ["", "BANK_ACCOUNT", "Phone", "card", "phone "])
def test_unknown_kind_is_rejected(kind: str) -> None:
    _invalid("kind", kind, None, PHONE)


# --- bank accounts ----------------------------------------------------------------------


@pytest.mark.parametrize("institution", ["970436", "VCB", "vcb", "Vietcombank", "VIETCOMBANK"])
def test_bank_accepts_bin_code_or_short_name(institution: str) -> None:
    subject = normalise_subject("bank_account", institution, "0123456789")
    assert subject == Subject("bank_account", "970436", "0123456789")


@pytest.mark.parametrize("bank", banks(), ids=lambda bank: bank.bin)
def test_every_catalogued_bank_resolves_to_its_bin(bank: Bank) -> None:
    for alias in (bank.bin, bank.code, bank.short_name):
        assert normalise_subject("bank_account", alias, "123456").institution == bank.bin


@pytest.mark.parametrize("institution", [None, "", "XYZ", "970999", "MOMOPAY"])
def test_unknown_bank_is_rejected(institution: str | None) -> None:
    reason = _invalid("institution", "bank_account", institution, "0123456789")
    assert reason.startswith("unknown bank")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0123456789", "0123456789"),
        ("0123 456 789", "0123456789"),
        ("0123.456.789", "0123456789"),
        ("0123-456-789", "0123456789"),
        (" 0123 - 456 . 789 ", "0123456789"),
        ("０１２３４５６７８９", "0123456789"),
        ("０１２３．４５６－７８９", "0123456789"),
        ("0123\u3000456\u00a0789", "0123456789"),
        ("vcb12345ab", "VCB12345AB"),
        ("ｖｃｂ１２３４５", "VCB12345"),
        ("123456", "123456"),
        ("1234567890123456789", "1234567890123456789"),
    ],
)
def test_account_number_is_cleaned(raw: str, expected: str) -> None:
    assert normalise_subject("bank_account", "VCB", raw).identifier == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "12345",  # too short
        "12345678901234567890",  # too long
        "123 45",  # too short once cleaned
        "123456/789",
        "123_456_789",
        "123456789#",
        "ACCıOUNT1",  # dotless i would upper-case to ASCII I
        "12345６789é",
        "12\t3456",
    ],
)
def test_bad_account_number_is_rejected(raw: str) -> None:
    assert _invalid("identifier", "bank_account", "VCB", raw) == ACCOUNT_REASON


def test_overlong_input_is_rejected_before_cleaning() -> None:
    padded = "1" + " " * 60 + "23456"  # would clean to a valid 123456
    assert len(padded) > 64
    assert "longer than 64" in _invalid("identifier", "bank_account", "VCB", padded)
    at_limit = "1" + " " * 58 + "23456"
    assert normalise_subject("bank_account", "VCB", at_limit).identifier == "123456"
    long_bank = "VCB" + " " * 62  # would fold to VCB
    assert "longer than 64" in _invalid("institution", "bank_account", long_bank, "123456")


# --- e-wallets --------------------------------------------------------------------------


@pytest.mark.parametrize("wallet", ewallets(), ids=lambda wallet: wallet.code)
def test_every_catalogued_wallet_is_accepted_in_any_case(wallet: EWallet) -> None:
    for spelling in (wallet.code, wallet.code.lower(), wallet.code.title()):
        assert normalise_subject("ewallet", spelling, PHONE).institution == wallet.code


@pytest.mark.parametrize("institution", [None, "", "PAYPAL", "970436", "MOMO2"])
def test_unknown_wallet_is_rejected(institution: str | None) -> None:
    reason = _invalid("institution", "ewallet", institution, PHONE)
    assert reason.startswith("unknown e-wallet")


PHONE_SPELLINGS = [
    "0912345678",
    "0912 345 678",
    "0912.345.678",
    "0912-345-678",
    "84912345678",
    "+84912345678",
    "+84 912-345-678",
    "+84 912 345 678",
    "(+84) 912 345 678",
    "0084912345678",
    "０９１２３４５６７８",
    "＋８４９１２３４５６７８",
    " 0912345678\n",
]


@pytest.mark.parametrize("raw", PHONE_SPELLINGS)
def test_wallet_phone_number_becomes_e164(raw: str) -> None:
    assert normalise_subject("ewallet", "momo", raw) == Subject("ewallet", "MOMO", PHONE)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("99ZP12345abc", "99ZP12345ABC"),
        ("psp-1234.5678", "PSP12345678"),
        ("ＰＳＰ １２３４", "PSP1234"),
        ("abcd", "ABCD"),
        ("A" * 32, "A" * 32),
        ("091234567", "091234567"),  # one digit short of a phone: kept as an id
        ("0912345ABC", "0912345ABC"),  # not read as keypad letters
    ],
)
def test_wallet_id_that_is_not_a_phone_is_cleaned(raw: str, expected: str) -> None:
    assert normalise_subject("ewallet", "ZALOPAY", raw).identifier == expected


@pytest.mark.parametrize("raw", ["", "abc", "A" * 33, "+12025550123", "user@momo", "99ZP_1"])
def test_bad_wallet_id_is_rejected(raw: str) -> None:
    _invalid("identifier", "ewallet", "MOMO", raw)


# --- phones -----------------------------------------------------------------------------


@pytest.mark.parametrize("raw", PHONE_SPELLINGS)
def test_phone_becomes_e164(raw: str) -> None:
    assert normalise_subject("phone", None, raw) == Subject("phone", None, PHONE)


def test_phone_accepts_empty_institution() -> None:
    assert normalise_subject("phone", "", PHONE).institution is None


@pytest.mark.parametrize("institution", ["VIETTEL", " ", "MOMO"])
def test_phone_with_institution_is_rejected(institution: str) -> None:
    _invalid("institution", "phone", institution, PHONE)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "02438256789",  # Hanoi landline
        "+12025550123",  # valid US number
        "+8613800138000",  # valid Chinese mobile
        "091234567",  # too short
        "09123456789",  # too long
        "0912345ABC",  # keypad letters
        "0912 345 678 ext 9",
        "1900 1234",  # premium-rate short form
    ],
)
def test_non_vietnamese_mobile_phone_is_rejected(raw: str) -> None:
    _invalid("identifier", "phone", None, raw)


@pytest.mark.parametrize("row", _prefix_rows(), ids=lambda row: row["prefix"])
def test_every_listed_mobile_prefix_is_accepted(row: dict[str, str]) -> None:
    # Some prefixes are only partly allocated (052x, 055x, 099x, 089x), so the check is
    # that each prefix has accepted numbers; full coverage of verified ones is below.
    prefix = row["prefix"]
    accepted = [d for d in "0123456789" if _accepts(f"{prefix}{d}234567")]
    assert accepted, f"no number with prefix {prefix} accepted"


# libphonenumber 9.0.43 rejects these sub-prefixes of prefixes listed as verified.
KNOWN_GAPS = {"0890", "0891", "0892", "0893", "0894", "0895"}
VERIFIED_SUBPREFIXES = [
    f"{row['prefix']}{d}"
    for row in _prefix_rows()
    if row["status"].startswith("verified")
    for d in "0123456789"
]


@pytest.mark.parametrize(
    "subprefix",
    [
        pytest.param(
            p,
            marks=pytest.mark.xfail(strict=True, reason="libphonenumber rejects this range"),
        )
        if p in KNOWN_GAPS
        else p
        for p in VERIFIED_SUBPREFIXES
    ],
)
def test_verified_prefixes_are_accepted_in_full(subprefix: str) -> None:
    assert _accepts(f"{subprefix}234567")


def _accepts(national: str) -> bool:
    try:
        subject = normalise_subject("phone", None, national)
    except InvalidIdentifier:
        return False
    assert subject.identifier == "+84" + national[1:]
    return True


# --- keys -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    ["phone::+84912345678", "ewallet:MOMO:+84912345678", "bank_account:970436:0123456789AB"],
)
def test_canonical_key_parses(key: str) -> None:
    assert parse_key(key).key == key


@pytest.mark.parametrize(
    "key",
    [
        "bank_account:VCB:0123456789",
        "bank_account:970436:0123 456 789",
        "bank_account:970436:0123456789ab",
        "ewallet:momo:+84912345678",
        "ewallet:MOMO:0912345678",
        "phone::0912345678",
    ],
)
def test_non_canonical_key_is_rejected(key: str) -> None:
    with pytest.raises(InvalidIdentifier) as info:
        parse_key(key)
    assert info.value.field == "key"
    assert "not canonical" in info.value.reason


@pytest.mark.parametrize("key", ["", "phone", "phone:+84912345678", "x" * 300])
def test_malformed_key_is_rejected(key: str) -> None:
    with pytest.raises(InvalidIdentifier) as info:
        parse_key(key)
    assert info.value.field == "key"


@pytest.mark.parametrize(
    ("key", "field"),
    [
        ("card:970436:0123456789", "kind"),
        ("bank_account:999999:0123456789", "institution"),
        ("bank_account::0123456789", "institution"),
        ("phone:VIETTEL:+84912345678", "institution"),
        ("bank_account:970436:01:23456789", "identifier"),
    ],
)
def test_key_with_invalid_part_names_the_part(key: str, field: str) -> None:
    with pytest.raises(InvalidIdentifier) as info:
        parse_key(key)
    assert info.value.field == field


# --- properties -------------------------------------------------------------------------

MOBILE_NATIONAL = st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from(["90", "91", "32", "86", "70", "56", "59", "81", "88", "96"]),
    st.text("0123456789", min_size=7, max_size=7),
)
PHONE_FORMS = st.sampled_from(
    [
        lambda n: "0" + n,
        lambda n: "84" + n,
        lambda n: "+84" + n,
        lambda n: "0084" + n,
        lambda n: f"+84 {n[:3]}-{n[3:6]}-{n[6:]}",
        lambda n: f"0{n[:3]} {n[3:6]} {n[6:]}",
        lambda n: ("0" + n).translate(FULLWIDTH),
    ]
)
ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
IDENTIFIERS = st.one_of(
    st.builds(lambda form, n: form(n), PHONE_FORMS, MOBILE_NATIONAL),
    st.text(ALNUM + " .-", min_size=4, max_size=40),
    st.text(ALNUM + "０１２３ａＢ．－\u3000", max_size=30),
    st.text(max_size=70),
)
INSTITUTIONS = st.one_of(
    st.none(),
    st.sampled_from([b.bin for b in banks()] + [b.code.lower() for b in banks()]),
    st.sampled_from([w.code.lower() for w in ewallets()]),
    st.text(max_size=70),
)
KINDS = st.sampled_from(SUBJECT_KINDS)


def _subject_or_none(kind: str, institution: str | None, identifier: str) -> Subject | None:
    try:
        return normalise_subject(kind, institution, identifier)
    except InvalidIdentifier:
        return None


@st.composite
def subjects(draw: st.DrawFn) -> Subject:
    """Valid subjects of every kind."""
    kind = draw(KINDS)
    if kind == "phone":
        institution = None
    elif kind == "ewallet":
        institution = draw(st.sampled_from([w.code for w in ewallets()]))
    else:
        institution = draw(st.sampled_from([b.short_name for b in banks()]))
    if kind == "bank_account":
        identifier = draw(st.text(ALNUM + " .-", min_size=6, max_size=19))
    else:
        identifier = draw(IDENTIFIERS)
    subject = _subject_or_none(kind, institution, identifier)
    if subject is None:
        reject()
    return subject


@settings(max_examples=200)
@given(KINDS, INSTITUTIONS, IDENTIFIERS)
def test_normalising_is_idempotent(kind: str, institution: str | None, identifier: str) -> None:
    subject = _subject_or_none(kind, institution, identifier)
    if subject is not None:
        assert normalise_subject(subject.kind, subject.institution, subject.identifier) == subject


@settings(max_examples=200)
@given(subjects())
def test_key_round_trips(subject: Subject) -> None:
    assert parse_key(subject.key) == subject


@settings(max_examples=200)
@given(st.text(), st.one_of(st.none(), st.text()), st.text())
def test_arbitrary_text_only_raises_invalid_identifier(
    kind: str, institution: str | None, identifier: str
) -> None:
    _subject_or_none(kind, institution, identifier)


@settings(max_examples=200)
@given(KINDS, st.one_of(st.none(), st.text()))
def test_arbitrary_institution_only_raises_invalid_identifier(
    kind: str, institution: str | None
) -> None:
    _subject_or_none(kind, institution, "0912345678")


@settings(max_examples=200)
@given(st.sampled_from([("bank_account", "VCB"), ("ewallet", "MOMO"), ("phone", None)]), st.text())
def test_arbitrary_identifier_only_raises_invalid_identifier(
    kind_and_institution: tuple[str, str | None], identifier: str
) -> None:
    _subject_or_none(*kind_and_institution, identifier)


@settings(max_examples=200)
@given(st.text())
def test_arbitrary_key_only_raises_invalid_identifier(key: str) -> None:
    try:
        parse_key(key)
    except InvalidIdentifier:
        pass


@st.composite
def spelled_accounts(draw: st.DrawFn) -> tuple[str, str]:
    """An account number and a messy spelling of it: separators and full-width digits."""
    digits = draw(st.text("0123456789", min_size=6, max_size=19))
    separators = st.sampled_from(["", "", " ", ".", "-", "\u3000", "．", "－", " - "])
    spelled = "".join(
        draw(separators) + (ch.translate(FULLWIDTH) if draw(st.booleans()) else ch) for ch in digits
    )
    return digits, spelled


@settings(max_examples=200)
@given(spelled_accounts())
def test_separators_and_fullwidth_digits_do_not_change_the_key(
    account: tuple[str, str],
) -> None:
    digits, spelled = account
    if len(spelled) <= 64:
        plain = normalise_subject("bank_account", "VCB", digits)
        assert normalise_subject("bank_account", "vcb", spelled).key == plain.key


# --- keys typed by people (list filters) ------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("phone::0912345678", "phone::+84912345678"),
        ("phone::0912 345 678", "phone::+84912345678"),
        ("phone::+84912345678", "phone::+84912345678"),
        ("ewallet:momo:84 987 654 321", "ewallet:MOMO:+84987654321"),
        ("bank_account:VCB:0011 0023-45678", "bank_account:970436:0011002345678"),
        ("bank_account:Vietcombank:ab123456", "bank_account:970436:AB123456"),
    ],
)
def test_typed_key_is_normalised(typed: str, key: str) -> None:
    assert normalise_key(typed).key == key


@pytest.mark.parametrize(
    ("typed", "field"),
    [
        ("", "key"),
        ("phone:0912345678", "key"),
        ("x" * 200, "key"),
        ("fax::0912345678", "kind"),
        ("bank_account:NOBANK:0011002345678", "institution"),
        ("phone:VCB:0912345678", "institution"),
        ("phone::12345", "identifier"),
    ],
)
def test_typed_key_that_is_no_identifier_names_the_part(typed: str, field: str) -> None:
    with pytest.raises(InvalidIdentifier) as info:
        normalise_key(typed)
    assert info.value.field == field


@settings(max_examples=200)
@given(KINDS, INSTITUTIONS, IDENTIFIERS)
def test_typed_key_normalises_like_its_parts(
    kind: str, institution: str | None, identifier: str
) -> None:
    # A colon inside a part would move the split: no part of a valid subject has one.
    if ":" in (institution or "") + identifier:
        reject()
    expected = _subject_or_none(kind, institution, identifier)
    typed = f"{kind}:{institution or ''}:{identifier}"
    try:
        got: Subject | None = normalise_key(typed)
    except InvalidIdentifier:
        got = None
    assert got == expected


@settings(max_examples=200)
@given(subjects())
def test_canonical_key_is_its_own_typed_form(subject: Subject) -> None:
    assert normalise_key(subject.key) == subject == parse_key(subject.key)


@settings(max_examples=200)
@given(KINDS, INSTITUTIONS, IDENTIFIERS)
def test_typed_key_is_idempotent(kind: str, institution: str | None, identifier: str) -> None:
    try:
        once = normalise_key(f"{kind}:{institution or ''}:{identifier}")
    except InvalidIdentifier:
        return
    assert normalise_key(once.key) == once


@settings(max_examples=300)
@given(st.text(st.characters(codec=None, exclude_categories=()), max_size=80))
def test_arbitrary_typed_key_only_raises_invalid_identifier(key: str) -> None:
    # Any text, NUL and lone surrogates included: a filter never crashes a list.
    try:
        normalise_key(key)
    except InvalidIdentifier:
        pass
