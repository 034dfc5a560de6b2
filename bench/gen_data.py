"""Benchmark data: an import CSV of N distinct subjects, and lookup/batch request bodies.

Subjects are produced by a deterministic factory: every (kind, institution) bucket numbers
its subjects 0, 1, 2, ... and maps that number through a bijection (an affine map modulo
10^digits), so two numbers never give the same identifier. The first N subjects are the
imported (listed) ones; "not listed" identifiers for lookups are simply the factory's next
subjects, which therefore cannot collide with any listed one.

Mix: ~85% bank accounts over ten BINs of ``app/reference/data/vn_banks.csv`` (weighted like
a real market), ~8% e-wallets (phone-number and alphanumeric wallet ids), ~7% phones.
The CSV spells some inputs the way people do (bank codes instead of BINs, spaces in account
numbers, local phone forms) so the importer's normalisation is exercised too.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from app.identifiers.normalise import normalise_subject
from app.imports.reader import COLUMNS as IMPORT_COLUMNS
from app.reference.catalogue import banks, typologies

# (BIN, weight): Vietcombank, Techcombank, MB, ACB, BIDV, VietinBank, VPBank, TPBank,
# Sacombank, Agribank.
BANK_WEIGHTS = (
    ("970436", 18),
    ("970407", 14),
    ("970422", 14),
    ("970416", 10),
    ("970418", 10),
    ("970415", 9),
    ("970432", 9),
    ("970423", 6),
    ("970403", 5),
    ("970405", 5),
)
# Account number length per BIN (digits); all >= 10 so 10^length >> 1,000,000.
ACCOUNT_DIGITS = {
    "970436": 13,
    "970407": 14,
    "970422": 12,
    "970416": 10,
    "970418": 14,
    "970415": 12,
    "970432": 10,
    "970423": 11,
    "970403": 12,
    "970405": 13,
}
# Mobile prefixes (after the leading 0) for which every 7-digit suffix is a valid mobile
# number in the phonenumbers metadata shipped with the app (checked in the generator too).
PHONE_PREFIXES = (
    "32", "33", "34", "35", "36", "37", "38", "39", "86", "96", "97", "98",
    "81", "82", "83", "84", "85", "88", "91", "94", "70", "76", "77", "78",
    "79", "90", "93", "56", "58", "92", "59",
)  # fmt: skip
EWALLETS = ("MOMO", "ZALOPAY", "VIETTELMONEY", "SHOPEEPAY")
_FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi")
_MIDDLE = ("Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh")
_GIVEN = ("An", "Bình", "Cường", "Dũng", "Hà", "Hải", "Hùng", "Lan", "Linh", "Nam", "Tâm")

# The bulk import's own header: the bench writes what `registry import` reads.
CSV_COLUMNS = IMPORT_COLUMNS


@dataclass(frozen=True, slots=True)
class Generated:
    """One subject: what a caller would send, and its canonical key."""

    kind: str
    institution: str | None  # as a caller may write it (a BIN or a bank code)
    identifier: str  # as a caller may write it
    key: str  # canonical

    def body(self) -> dict[str, str | None]:
        return {"kind": self.kind, "institution": self.institution, "identifier": self.identifier}


def _affine(n: int, modulus: int, a: int, b: int) -> int:
    """A bijection of [0, modulus) when gcd(a, modulus) == 1 (a odd, not a multiple of 5)."""
    return (a * n + b) % modulus


class SubjectFactory:
    """Deterministic stream of distinct subjects (see the module docstring)."""

    def __init__(self, seed: int = 20260101) -> None:
        self.rng = random.Random(seed)
        self.counters: dict[tuple[str, str], int] = {}
        self._bins = [b for b, _ in BANK_WEIGHTS]
        self._bin_weights = [w for _, w in BANK_WEIGHTS]
        self._codes = {b.bin: b.code for b in banks()}
        known = {b.bin for b in banks()}
        missing = [b for b in self._bins if b not in known]
        if missing:
            raise RuntimeError(f"BINs missing from vn_banks.csv: {missing}")

    def _next(self, bucket: tuple[str, str]) -> int:
        n = self.counters.get(bucket, 0)
        self.counters[bucket] = n + 1
        return n

    def make(self) -> Generated:
        roll = self.rng.random()
        if roll < 0.85:
            return self._bank_account()
        if roll < 0.93:
            return self._ewallet()
        return self._phone()

    def _bank_account(self) -> Generated:
        bin_ = self.rng.choices(self._bins, self._bin_weights)[0]
        digits = ACCOUNT_DIGITS[bin_]
        n = self._next(("bank", bin_))
        number = str(_affine(n, 10**digits, 7_368_787, int(bin_) * 1_000_003)).zfill(digits)
        key = f"bank_account:{bin_}:{number}"
        institution = bin_ if self.rng.random() < 0.7 else self._codes[bin_]
        written = number
        if self.rng.random() < 0.1:  # as copied from a statement: "0011 0023 45678"
            written = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
        return Generated("bank_account", institution, written, key)

    def _phone_number(self, bucket_kind: str) -> str | None:
        prefix = self.rng.choice(PHONE_PREFIXES)
        n = self._next((bucket_kind, prefix))
        if n >= 10**7:
            return None
        return "0" + prefix + str(_affine(n, 10**7, 1_234_567, 4_242_421)).zfill(7)

    def _phone(self) -> Generated:
        while True:
            local = self._phone_number("phone")
            if local is None:
                continue
            try:
                subject = normalise_subject("phone", None, local)
            except ValueError:
                continue
            written = local if self.rng.random() < 0.5 else subject.identifier
            return Generated("phone", None, written, subject.key)

    def _ewallet(self) -> Generated:
        wallet = self.rng.choice(EWALLETS)
        while True:
            if self.rng.random() < 0.6:
                raw = self._phone_number("wallet:" + wallet)
                if raw is None:
                    continue
            else:
                n = self._next(("walletid", wallet))
                raw = "ZP" + str(_affine(n, 10**10, 9_876_543, 77)).zfill(10)
            try:
                subject = normalise_subject("ewallet", wallet, raw)
            except ValueError:
                continue
            return Generated("ewallet", wallet, raw, subject.key)


def _holder(rng: random.Random) -> str:
    return f"{rng.choice(_FAMILY)} {rng.choice(_MIDDLE)} {rng.choice(_GIVEN)}"


def write_import_csv(
    path: Path, factory: SubjectFactory, n: int, *, sample_size: int
) -> list[Generated]:
    """Write ``n`` distinct subjects as import rows; return a uniform sample of them."""
    rng = random.Random(7)
    categories = [t.code for t in typologies()]
    sample: list[Generated] = []
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(CSV_COLUMNS)
        for i in range(n):
            subject = factory.make()
            # Reservoir sampling: every row has the same chance to be a "listed" probe.
            if len(sample) < sample_size:
                sample.append(subject)
            else:
                j = rng.randrange(i + 1)
                if j < sample_size:
                    sample[j] = subject
            amount = str(rng.randrange(100_000, 500_000_000)) if rng.random() < 0.6 else ""
            holder = _holder(rng) if rng.random() < 0.5 else ""
            writer.writerow(
                (
                    subject.kind,
                    subject.institution or "",
                    subject.identifier,
                    rng.choice(categories),
                    f"Bench: chuyển khoản lừa đảo, hồ sơ #{i}",
                    amount,
                    "",
                    holder,
                )
            )
    return sample


def unlisted(factory: SubjectFactory, n: int) -> list[Generated]:
    """``n`` subjects never written to the import file (the factory's next ones)."""
    return [factory.make() for _ in range(n)]


def mixed(
    listed: list[Generated], not_listed: Iterator[Generated], n: int, listed_share: float,
    rng: random.Random,
) -> list[Generated]:  # fmt: skip
    """``n`` subjects, exactly ``round(n * listed_share)`` of them listed, shuffled."""
    k = round(n * listed_share)
    out = [listed[i % len(listed)] for i in range(k)] + [next(not_listed) for _ in range(n - k)]
    rng.shuffle(out)
    return out


def write_lines(path: Path, bodies: list[str]) -> None:
    path.write_text("".join(b + "\n" for b in bodies), encoding="utf-8")


def dumps(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
