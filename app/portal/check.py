"""The public check: the member lookup's own answer, mapped to what a citizen may know.

The answer comes from the one lookup builder (``app.subjects.answer.lookup_answer``) over
the same in-memory index the member lookup reads, and its level follows from the risk
level SPEC §4 derives: 3 (a confirmed flag) is ``confirmed``, 1 and 2 (reports) are
``reported``, 0 is ``none``. No warning is issued and the member lookup counts are not
touched: public checks are counted apart (``app.portal.counter``).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.errors import InvalidInput, ServiceUnavailable
from app.identifiers.normalise import Subject as Identifier
from app.identifiers.vietqr import InvalidVietQR, parse_vietqr
from app.portal.advice import advice_lines
from app.runtime import Runtime
from app.subjects.answer import lookup_answer
from app.subjects.schemas import SubjectIn
from app.subjects.service import identify

LEVELS = ("none", "reported", "reported", "confirmed")


@dataclass(frozen=True, slots=True)
class PublicAnswer:
    key: str
    level: str
    categories: tuple[str, ...]
    # The decoded amount of a VietQR code, shown back to the citizen (never stored).
    amount_vnd: int | None = None

    def as_json(self, locale: str) -> dict[str, object]:
        return {
            "key": self.key,
            "level": self.level,
            "categories": list(self.categories),
            "advice": advice_lines(self.level, self.categories, locale),
        }


def level_of(risk_level: int) -> str:
    return LEVELS[risk_level]


def subject_of_vietqr(payload: str, loc: tuple[str, ...]) -> tuple[Identifier, int | None]:
    """The bank account a VietQR payload pays (SPEC §3), else a 422 saying why."""
    try:
        qr = parse_vietqr(payload)
    except InvalidVietQR as exc:
        raise InvalidInput(
            exc.reason, errors=[{"loc": list(loc), "msg": exc.reason, "type": "value_error"}]
        ) from None
    subject = SubjectIn(kind="bank_account", institution=qr.bin, identifier=qr.account)
    return identify(subject, loc), qr.amount_vnd


async def public_answer(runtime: Runtime, key: str, amount_vnd: int | None = None) -> PublicAnswer:
    """The citizen's answer about ``key`` (canonical), counted as one public check.

    An index that missed its last poll (a busy process) is brought up to date first: a
    citizen waits one query rather than being told to come back; still stale (database
    unreachable, or the state disagrees with the chain), the answer is a 503."""
    mirror = runtime.mirror
    if not await mirror.ensure_fresh():
        raise ServiceUnavailable("listing index is not in step with the database")
    answer = lookup_answer(key, mirror.listing(key), mirror.seq)
    level = level_of(int(answer["risk_level"]))
    runtime.public_counter.count(listed=level != "none")
    return PublicAnswer(key, level, tuple(answer["categories"]), amount_vnd)
