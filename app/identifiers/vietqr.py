"""Decoder (and test/demo encoder) for VietQR bank-transfer payloads.

A VietQR payload is an EMVCo merchant-presented QR string: a flat run of TLV fields
(2-digit tag, 2-digit length, value) whose tag 38 nests the NAPAS account details and
whose tag 63 holds a CRC-16 over everything before its value. This module only decodes;
callers pass ``("bank_account", qr.bin, qr.account)`` to ``normalise_subject``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# EMVCo caps a merchant-presented payload at 512 characters.
MAX_PAYLOAD_LENGTH = 512
NAPAS_GUID = "A000000727"
VND = "704"

_TAG_FORMAT = "00"
_TAG_INITIATION = "01"
_TAG_ACCOUNT = "38"
_TAG_CURRENCY = "53"
_TAG_AMOUNT = "54"
_TAG_COUNTRY = "58"
_TAG_ADDITIONAL = "62"
_TAG_CRC = "63"
_SUB_GUID = "00"
_SUB_BENEFICIARY = "01"
_SUB_SERVICE = "02"
_SUB_BIN = "00"
_SUB_ACCOUNT = "01"
_SUB_PURPOSE = "08"

_BIN = re.compile(r"[0-9]{6}", re.ASCII)
# E-wallet accounts under BINs such as 971025 carry letters ("PSP...", "99ZP...").
_ACCOUNT = re.compile(r"[0-9A-Za-z]{1,32}", re.ASCII)
_CURRENCY = re.compile(r"[0-9]{3}", re.ASCII)
# VND has no minor unit, but some generators still print "50000.00".
_AMOUNT = re.compile(r"([0-9]{1,13})(?:\.0+)?", re.ASCII)
_CRC_HEX = re.compile(r"[0-9A-Fa-f]{4}", re.ASCII)


class InvalidVietQR(ValueError):
    """A payload that is not a well-formed VietQR; ``reason`` says what is wrong."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class VietQR:
    """The decoded transfer target of a VietQR payload."""

    bin: str
    account: str
    amount_vnd: int | None
    currency: str | None
    purpose: str | None


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final xor."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def parse_vietqr(payload: str) -> VietQR:
    """Decode a VietQR payload, raising :class:`InvalidVietQR` if it is malformed.

    Checks structure (tag 00 first, tag 63 last, no duplicate or truncated fields),
    the CRC, and the NAPAS account template in tag 38.
    """
    if not payload:
        raise InvalidVietQR("payload is empty")
    if len(payload) > MAX_PAYLOAD_LENGTH:
        raise InvalidVietQR(f"payload is longer than {MAX_PAYLOAD_LENGTH} characters")
    fields = _parse_tlv(payload, "payload")
    tags = list(fields)
    if tags[0] != _TAG_FORMAT:
        raise InvalidVietQR(f"tag 00 must come first, found tag {tags[0]}")
    if tags[-1] != _TAG_CRC:
        raise InvalidVietQR(f"tag 63 (CRC) must come last, found tag {tags[-1]}")
    if fields[_TAG_FORMAT] != "01":
        raise InvalidVietQR(f"payload format indicator must be 01, got {fields[_TAG_FORMAT]!r}")
    _check_crc(payload, fields[_TAG_CRC])
    bin_, account = _beneficiary(fields)
    currency = fields.get(_TAG_CURRENCY)
    if currency is not None and not _CURRENCY.fullmatch(currency):
        raise InvalidVietQR(f"currency (tag 53) must be a 3-digit code, got {currency!r}")
    return VietQR(
        bin=bin_,
        account=account,
        amount_vnd=_amount(fields.get(_TAG_AMOUNT), currency),
        currency=currency,
        purpose=_purpose(fields.get(_TAG_ADDITIONAL)),
    )


def build_vietqr(bin: str, account: str, amount_vnd: int | None = None) -> str:
    """Encode a NAPAS account-transfer VietQR payload (for tests and demos).

    A payload with an amount is marked dynamic (``010212``), without one static.
    """
    if not _BIN.fullmatch(bin):
        raise ValueError(f"BIN must be 6 digits, got {bin!r}")
    if not _ACCOUNT.fullmatch(account):
        raise ValueError(f"account must be 1-32 characters of 0-9 and A-Z, got {account!r}")
    if amount_vnd is not None and not 0 <= amount_vnd < 10**13:
        raise ValueError(f"amount must be 0 to 13 digits, got {amount_vnd}")
    beneficiary = _tlv(_SUB_BIN, bin) + _tlv(_SUB_ACCOUNT, account)
    merchant = (
        _tlv(_SUB_GUID, NAPAS_GUID)
        + _tlv(_SUB_BENEFICIARY, beneficiary)
        + _tlv(_SUB_SERVICE, "QRIBFTTA")
    )
    body = (
        _tlv(_TAG_FORMAT, "01")
        + _tlv(_TAG_INITIATION, "11" if amount_vnd is None else "12")
        + _tlv(_TAG_ACCOUNT, merchant)
        + _tlv(_TAG_CURRENCY, VND)
        + ("" if amount_vnd is None else _tlv(_TAG_AMOUNT, str(amount_vnd)))
        + _tlv(_TAG_COUNTRY, "VN")
    )
    return with_crc(body)


def with_crc(body: str) -> str:
    """Append the tag 63 CRC field to a payload body that lacks one."""
    head = body + _TAG_CRC + "04"
    return head + f"{crc16_ccitt_false(_encode(head)):04X}"


def _tlv(tag: str, value: str) -> str:
    return f"{tag}{len(value):02d}{value}"


def _encode(text: str) -> bytes:
    # surrogatepass keeps arbitrary str input (lone surrogates) from raising here; such
    # a payload then simply fails the CRC.
    return text.encode("utf-8", "surrogatepass")


def _parse_tlv(data: str, where: str) -> dict[str, str]:
    """Split a run of TLV fields into an ordered tag -> value mapping."""
    fields: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        header = data[pos : pos + 4]
        if len(header) < 4:
            raise InvalidVietQR(f"truncated TLV in {where} at offset {pos}")
        tag, length = header[:2], header[2:]
        if not (tag.isascii() and tag.isdigit()):
            raise InvalidVietQR(f"non-digit tag {tag!r} in {where} at offset {pos}")
        if not (length.isascii() and length.isdigit()):
            raise InvalidVietQR(f"non-digit length {length!r} for tag {tag} in {where}")
        end = pos + 4 + int(length)
        if end > len(data):
            raise InvalidVietQR(f"truncated TLV: tag {tag} in {where} runs past the end")
        if tag in fields:
            raise InvalidVietQR(f"duplicate tag {tag} in {where}")
        fields[tag] = data[pos + 4 : end]
        pos = end
    return fields


def _check_crc(payload: str, got: str) -> None:
    if not _CRC_HEX.fullmatch(got):
        raise InvalidVietQR(f"CRC (tag 63) must be 4 hex characters, got {got!r}")
    # Tag 63 is last and 4 characters long, so its value is the final 4 characters.
    expected = f"{crc16_ccitt_false(_encode(payload[:-4])):04X}"
    if got.upper() != expected:
        raise InvalidVietQR(f"bad CRC: expected {expected}, got {got}")


def _beneficiary(fields: dict[str, str]) -> tuple[str, str]:
    """BIN and account from the NAPAS merchant account template (tag 38)."""
    template = fields.get(_TAG_ACCOUNT)
    if template is None:
        raise InvalidVietQR("missing tag 38 (merchant account information)")
    merchant = _parse_tlv(template, "tag 38")
    guid = merchant.get(_SUB_GUID)
    if guid is None or guid.upper() != NAPAS_GUID:
        raise InvalidVietQR(f"tag 38 GUID must be {NAPAS_GUID}, got {guid!r}")
    beneficiary = merchant.get(_SUB_BENEFICIARY)
    if beneficiary is None:
        raise InvalidVietQR("tag 38 has no beneficiary organisation (subtag 01)")
    org = _parse_tlv(beneficiary, "tag 38.01")
    bin_, account = org.get(_SUB_BIN), org.get(_SUB_ACCOUNT)
    if bin_ is None or not _BIN.fullmatch(bin_):
        raise InvalidVietQR(f"tag 38.01 must carry a 6-digit BIN in subtag 00, got {bin_!r}")
    if account is None or not _ACCOUNT.fullmatch(account):
        raise InvalidVietQR(
            f"tag 38.01 must carry an alphanumeric account in subtag 01, got {account!r}"
        )
    return bin_, account


def _amount(value: str | None, currency: str | None) -> int | None:
    if value is None:
        return None
    if currency not in (None, VND):
        raise InvalidVietQR(f"amount is in currency {currency}, only {VND} (VND) is supported")
    match = _AMOUNT.fullmatch(value)
    if match is None:
        raise InvalidVietQR(f"amount (tag 54) must be a whole number of VND, got {value!r}")
    return int(match.group(1))


def _purpose(additional: str | None) -> str | None:
    if additional is None:
        return None
    return _parse_tlv(additional, "tag 62").get(_SUB_PURPOSE)
