"""Decoding VietQR (EMVCo merchant-presented) payloads."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.identifiers.normalise import normalise_subject
from app.identifiers.vietqr import (
    InvalidVietQR,
    VietQR,
    build_vietqr,
    crc16_ccitt_false,
    parse_vietqr,
    with_crc,
)

ACB = (
    "00020101021238530010A0000007270123000697041601092576788590208QRIBFTTA"
    "5303704540410005802VN62150811Chuyen tien6304BBB8"
)
MB = "00020101021138540010A00000072701240006970422011003523509170208QRIBFTTA53037045802VN630479db"


def tlv(tag: str, value: str) -> str:
    return f"{tag}{len(value):02d}{value}"


def account_template(bin_: str = "970436", account: str = "0123456789") -> str:
    beneficiary = tlv("00", bin_) + tlv("01", account)
    return tlv("00", "A000000727") + tlv("01", beneficiary) + tlv("02", "QRIBFTTA")


def payload(*fields: str) -> str:
    """A payload of tag 00 then ``fields`` then a correct CRC."""
    return with_crc(tlv("00", "01") + "".join(fields))


def rejected(text: str) -> str:
    with pytest.raises(InvalidVietQR) as info:
        parse_vietqr(text)
    assert isinstance(info.value, ValueError)
    return info.value.reason


# --- real payloads ----------------------------------------------------------------------


def test_acb_payload_with_amount_and_purpose() -> None:
    assert parse_vietqr(ACB) == VietQR("970416", "257678859", 1000, "704", "Chuyen tien")


def test_mb_payload_with_lowercase_crc() -> None:
    assert parse_vietqr(MB) == VietQR("970422", "0352350917", None, "704", None)


def test_decoded_account_feeds_the_normaliser() -> None:
    qr = parse_vietqr(MB)
    subject = normalise_subject("bank_account", qr.bin, qr.account)
    assert subject.key == "bank_account:970422:0352350917"


# --- CRC --------------------------------------------------------------------------------


def test_crc_matches_the_published_check_value() -> None:
    assert crc16_ccitt_false(b"123456789") == 0x29B1


def test_bad_crc_reports_expected_and_got() -> None:
    reason = rejected(ACB[:-4] + "0000")
    assert "bad CRC" in reason and "BBB8" in reason and "0000" in reason


def test_crc_covers_the_crc_tag_header() -> None:
    # A CRC computed without the trailing "6304" must not pass.
    body = ACB[:-8]
    wrong = f"{crc16_ccitt_false(body.encode()):04X}"
    assert "bad CRC" in rejected(body + "6304" + wrong)


@pytest.mark.parametrize("crc", ["BBB", "BBB8X", "GGGG"])
def test_malformed_crc_field_is_rejected(crc: str) -> None:
    assert "CRC" in rejected(ACB[:-8] + tlv("63", crc))


def test_tampered_account_fails_crc() -> None:
    assert "bad CRC" in rejected(ACB.replace("257678859", "257678850"))


# --- structure --------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "x" * 513, build_vietqr("970436", "1") + "0" * 500])
def test_empty_or_overlong_payload_is_rejected(text: str) -> None:
    reason = rejected(text)
    assert "empty" in reason or "longer than 512" in reason


def test_payload_of_exactly_512_characters_is_allowed() -> None:
    head = tlv("00", "01") + tlv("38", account_template())
    # Pad with unreserved tags 80-99 so the finished payload is exactly 512 characters.
    room = 512 - len(head) - 8
    padding = ""
    for tag in range(80, 100):
        take = min(99, room - 4)
        if take < 0:
            break
        padding += tlv(str(tag), "x" * take)
        room -= 4 + take
    text = with_crc(head + padding)
    assert len(text) == 512
    assert parse_vietqr(text).bin == "970436"
    assert "longer than 512" in rejected(text + "0")


@pytest.mark.parametrize("cut", [1, 3, 10])
def test_truncated_payload_is_rejected(cut: int) -> None:
    assert "truncated" in rejected(ACB[:-cut])


def test_value_running_past_the_end_is_rejected() -> None:
    assert "truncated" in rejected("000201" + "6399ABCD")


def test_non_digit_length_is_rejected() -> None:
    assert "non-digit length" in rejected("000201" + "58XXVN")


def test_non_digit_tag_is_rejected() -> None:
    assert "non-digit tag" in rejected("0002" + "01" + "A10201")


def test_tag_00_must_come_first() -> None:
    text = with_crc(tlv("01", "12") + tlv("00", "01") + tlv("38", account_template()))
    assert "tag 00 must come first" in rejected(text)


def test_tag_63_must_come_last() -> None:
    text = with_crc(tlv("00", "01") + tlv("38", account_template())) + tlv("58", "VN")
    assert "tag 63" in rejected(text) and "last" in rejected(text)


def test_payload_format_indicator_must_be_01() -> None:
    text = with_crc(tlv("00", "02") + tlv("38", account_template()))
    assert "format indicator" in rejected(text)


def test_duplicate_top_level_tag_is_rejected() -> None:
    text = payload(tlv("38", account_template()), tlv("58", "VN"), tlv("58", "VN"))
    assert "duplicate tag 58" in rejected(text)


def test_duplicate_nested_tag_is_rejected() -> None:
    template = account_template() + tlv("02", "QRIBFTTC")
    assert "duplicate tag 02" in rejected(payload(tlv("38", template)))


# --- tag 38 -----------------------------------------------------------------------------


def test_missing_tag_38_is_rejected() -> None:
    assert "missing tag 38" in rejected(payload(tlv("53", "704"), tlv("58", "VN")))


def test_wrong_guid_is_rejected() -> None:
    template = account_template().replace("A000000727", "A000000775")
    assert "GUID" in rejected(payload(tlv("38", template)))


def test_missing_guid_is_rejected() -> None:
    template = tlv("01", tlv("00", "970436") + tlv("01", "0123456789"))
    assert "GUID" in rejected(payload(tlv("38", template)))


def test_missing_beneficiary_is_rejected() -> None:
    template = tlv("00", "A000000727") + tlv("02", "QRIBFTTA")
    assert "beneficiary" in rejected(payload(tlv("38", template)))


@pytest.mark.parametrize(
    "beneficiary",
    [
        tlv("01", "0123456789"),
        tlv("00", "97043") + tlv("01", "0123456789"),
        tlv("00", "97043A") + tlv("01", "0123456789"),
    ],
)
def test_missing_or_malformed_bin_is_rejected(beneficiary: str) -> None:
    template = tlv("00", "A000000727") + tlv("01", beneficiary)
    assert "BIN" in rejected(payload(tlv("38", template)))


@pytest.mark.parametrize("account", ["", "0123-456", "01234567 9"])
def test_bad_account_is_rejected(account: str) -> None:
    assert "account" in rejected(payload(tlv("38", account_template(account=account))))


def test_missing_account_is_rejected() -> None:
    template = tlv("00", "A000000727") + tlv("01", tlv("00", "970436"))
    assert "account" in rejected(payload(tlv("38", template)))


def test_truncated_nested_tlv_is_rejected() -> None:
    template = tlv("00", "A000000727") + "0130" + "0006970436"
    assert "truncated" in rejected(payload(tlv("38", template)))


@pytest.mark.parametrize("account", ["PSP0123456789", "99ZP24123456789012"])
def test_alphanumeric_wallet_accounts_are_accepted(account: str) -> None:
    assert parse_vietqr(build_vietqr("971025", account)).account == account


# --- amount, currency, purpose ----------------------------------------------------------


@pytest.mark.parametrize(("amount", "expected"), [("1000", 1000), ("0", 0), ("50000.00", 50000)])
def test_amount_is_stored_as_whole_vnd(amount: str, expected: int) -> None:
    text = payload(tlv("38", account_template()), tlv("53", "704"), tlv("54", amount))
    assert parse_vietqr(text).amount_vnd == expected


@pytest.mark.parametrize("amount", ["", "abc", "1,000", "10.5", "-100", "1e3", " 100"])
def test_non_numeric_amount_is_rejected(amount: str) -> None:
    text = payload(tlv("38", account_template()), tlv("53", "704"), tlv("54", amount))
    assert "amount" in rejected(text)


def test_amount_in_another_currency_is_rejected() -> None:
    text = payload(tlv("38", account_template()), tlv("53", "840"), tlv("54", "10"))
    assert "currency 840" in rejected(text)


def test_malformed_currency_is_rejected() -> None:
    assert "currency" in rejected(payload(tlv("38", account_template()), tlv("53", "VND")))


def test_missing_optional_tags_give_none() -> None:
    qr = parse_vietqr(payload(tlv("38", account_template())))
    assert (qr.amount_vnd, qr.currency, qr.purpose) == (None, None, None)


def test_tag_62_without_purpose_gives_none() -> None:
    text = payload(tlv("38", account_template()), tlv("62", tlv("05", "REF123")))
    assert parse_vietqr(text).purpose is None


def test_malformed_tag_62_is_rejected() -> None:
    text = payload(tlv("38", account_template()), tlv("62", "0899x"))
    assert "tag 62" in rejected(text)


# --- build_vietqr -----------------------------------------------------------------------


def test_build_marks_static_and_dynamic_payloads() -> None:
    assert build_vietqr("970436", "0123456789").startswith("000201010211")
    assert build_vietqr("970436", "0123456789", 1).startswith("000201010212")


@pytest.mark.parametrize(
    ("bin_", "account", "amount"),
    [("97043", "1", None), ("970436", "", None), ("970436", "a-b", None), ("970436", "1", -1)],
)
def test_build_rejects_bad_arguments(bin_: str, account: str, amount: int | None) -> None:
    with pytest.raises(ValueError):
        build_vietqr(bin_, account, amount)


# --- properties -------------------------------------------------------------------------

BINS = st.text("0123456789", min_size=6, max_size=6)
ACCOUNTS = st.text(
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", min_size=1, max_size=32
)
AMOUNTS = st.one_of(st.none(), st.integers(min_value=0, max_value=10**13 - 1))


@settings(max_examples=200)
@given(BINS, ACCOUNTS, AMOUNTS)
def test_build_then_parse_round_trips(bin_: str, account: str, amount: int | None) -> None:
    qr = parse_vietqr(build_vietqr(bin_, account, amount))
    assert (qr.bin, qr.account, qr.amount_vnd, qr.currency) == (bin_, account, amount, "704")


@settings(max_examples=200)
@given(BINS, ACCOUNTS, st.integers(min_value=0, max_value=10**9), st.data())
def test_tag_order_between_00_and_63_does_not_matter(
    bin_: str, account: str, amount: int, data: st.DataObject
) -> None:
    middle = [
        tlv("01", "12"),
        tlv("38", account_template(bin_, account)),
        tlv("53", "704"),
        tlv("54", str(amount)),
        tlv("58", "VN"),
        tlv("62", tlv("08", "Chuyen tien")),
    ]
    shuffled = data.draw(st.permutations(middle))
    expected = VietQR(bin_, account, amount, "704", "Chuyen tien")
    assert parse_vietqr(payload(*shuffled)) == expected


@settings(max_examples=200)
@given(BINS, ACCOUNTS, AMOUNTS, st.data())
def test_single_character_corruption_is_caught(
    bin_: str, account: str, amount: int | None, data: st.DataObject
) -> None:
    original = build_vietqr(bin_, account, amount)
    index = data.draw(st.integers(min_value=0, max_value=len(original) - 1))
    replacement = data.draw(st.characters(min_codepoint=0x20, max_codepoint=0x7E))
    corrupted = original[:index] + replacement + original[index + 1 :]
    # The CRC is compared case-insensitively, so re-casing one of its hex digits is benign.
    if corrupted.upper() == original.upper() and index >= len(original) - 4:
        return
    try:
        result = parse_vietqr(corrupted)
    except InvalidVietQR:
        return
    assert corrupted == original
    assert result == parse_vietqr(original)


@settings(max_examples=200)
@given(st.text())
def test_arbitrary_text_only_raises_invalid_vietqr(text: str) -> None:
    try:
        parse_vietqr(text)
    except InvalidVietQR:
        pass


@st.composite
def crc_valid_tlv_payloads(draw: st.DrawFn) -> str:
    """Random TLV runs with a correct CRC, so the parser gets past the checksum."""
    tags = st.text("0123456789", min_size=2, max_size=2)
    values = st.one_of(
        st.text(max_size=30),
        st.just(account_template()),
        st.builds(account_template, st.text(max_size=8), st.text(max_size=12)),
        st.builds(lambda a, b: tlv("00", a) + tlv("01", b), st.text(max_size=12), st.text()),
    )
    fields = draw(st.lists(st.tuples(tags, values), max_size=6))
    body = "".join(tlv(tag, value) for tag, value in fields if len(value) < 100)
    return with_crc(draw(st.sampled_from(["", tlv("00", "01")])) + body)


@settings(max_examples=200)
@given(crc_valid_tlv_payloads())
def test_structured_payloads_only_raise_invalid_vietqr(text: str) -> None:
    try:
        parse_vietqr(text)
    except InvalidVietQR:
        pass
