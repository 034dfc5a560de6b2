"""Loaders for the shipped reference lists: banks, e-wallets, fraud typologies.

The CSV files under ``data/`` are copies of ``shared/reference``; they are public reference
data and are read once per process.
"""

from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources


@dataclass(frozen=True, slots=True)
class Bank:
    bin: str
    short_name: str
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class EWallet:
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Typology:
    code: str
    name_vi: str
    name_en: str
    description_en: str


def _rows(filename: str) -> list[dict[str, str]]:
    text = resources.files("app.reference").joinpath("data", filename).read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


def _fold(value: str) -> str:
    """Case- and diacritic-insensitive form used to match bank names and codes."""
    decomposed = unicodedata.normalize("NFKD", value.replace("Đ", "D").replace("đ", "d"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return "".join(ch for ch in stripped.upper() if ch.isalnum())


@cache
def banks() -> tuple[Bank, ...]:
    return tuple(
        Bank(r["bin"].strip(), r["short_name"].strip(), r["code"].strip(), r["name"].strip())
        for r in _rows("vn_banks.csv")
    )


@cache
def _bank_aliases() -> dict[str, str]:
    aliases: dict[str, str] = {}
    for bank in banks():
        for alias in (bank.bin, bank.short_name, bank.code):
            if alias:
                aliases.setdefault(_fold(alias), bank.bin)
    return aliases


# Cached: a batch names the same few banks a thousand times, and folding costs more than
# the lookup itself. Bounded, so hostile spellings cannot grow it.
@lru_cache(maxsize=4096)
def bank_bin(value: str) -> str | None:
    """The 6-digit BIN for a BIN, bank code or short name (``VCB``, ``Vietcombank``)."""
    return _bank_aliases().get(_fold(value))


def bank_bins() -> frozenset[str]:
    return frozenset(bank.bin for bank in banks())


@cache
def ewallets() -> tuple[EWallet, ...]:
    return tuple(EWallet(r["code"].strip(), r["name"].strip()) for r in _rows("vn_ewallets.csv"))


@lru_cache(maxsize=1024)
def ewallet_code(value: str) -> str | None:
    """The canonical e-wallet code (``MOMO``) for a code in any case, else None."""
    folded = _fold(value)
    return next((w.code for w in ewallets() if w.code == folded), None)


@cache
def typologies() -> tuple[Typology, ...]:
    return tuple(
        Typology(
            r["code"].strip(),
            r["name_vi"].strip(),
            r["name_en"].strip(),
            r["description_en"].strip(),
        )
        for r in _rows("vn_fraud_typologies.csv")
    )


@cache
def typology_codes() -> frozenset[str]:
    return frozenset(t.code for t in typologies())
