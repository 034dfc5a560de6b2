"""The review queue (SPEC §12): reported flags, oldest first, filtered by category, the
subject's institution, the reporter's kind and the day of the report (Vietnam time).

The filters are read from the address, so a filtered queue can be bookmarked and its next
page keeps them; a value the registry cannot mean (an unknown institution or kind, a date
that does not exist) is a 422 page rather than an empty list that looks like an answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.auth.scopes import ALLOWED_KINDS, OrgKind, Scope
from app.console.auth import SignedIn, need
from app.console.i18n import VIETNAM
from app.console.pages import Lang, gettext_for
from app.console.routing import ConsoleRoute
from app.console.work import Category, Cursor, list_flags
from app.errors import InvalidInput
from app.flags.schemas import FlagStatus
from app.reference.catalogue import bank_bin, banks, ewallet_code, ewallets

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)

_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", re.ASCII)
Institution = Annotated[str | None, Query(max_length=64)]
Kind = Annotated[str | None, Query(max_length=16)]
Day = Annotated[str | None, Query(max_length=10)]
# The kinds that report flags, in the order the select offers them.
REPORTER_KINDS = [k.value for k in OrgKind if k in ALLOWED_KINDS[Scope.FLAGS_WRITE]]


@dataclass(frozen=True)
class QueueFilters:
    """The queue's filters beyond the category, checked and in the repository's terms."""

    institutions: tuple[str, ...] = ()  # BINs and e-wallet codes; the first is shown
    reporter_kind: str | None = None
    reported_from: date | None = None
    reported_to: date | None = None

    def repository_arguments(self) -> dict[str, Any]:
        """``FlagRepository.page`` arguments: the days as UTC bounds of Vietnam days."""
        start = _day_start(self.reported_from, "reported_from")
        end = None
        if self.reported_to is not None:
            if self.reported_to == date.max:
                raise InvalidInput("reported_to: the date is out of range")
            end = _day_start(self.reported_to + timedelta(days=1), "reported_to")
        return {
            "institutions": self.institutions or None,
            "reporter_kind": self.reporter_kind,
            "created_from": start,
            "created_before": end,
        }

    def kept(self) -> dict[str, str]:
        """The filters as the address and the form carry them."""
        values = {
            "institution": self.institutions[0] if self.institutions else None,
            "reporter_kind": self.reporter_kind,
            "reported_from": self.reported_from and self.reported_from.isoformat(),
            "reported_to": self.reported_to and self.reported_to.isoformat(),
        }
        return {name: value for name, value in values.items() if value}


def _day_start(day: date | None, field: str) -> datetime | None:
    """Midnight in Vietnam of ``day``, in UTC."""
    if day is None:
        return None
    try:
        return datetime.combine(day, time(0), tzinfo=VIETNAM).astimezone(UTC)
    except OverflowError:
        raise InvalidInput(f"{field}: the date is out of range") from None


def _day(value: str | None, field: str) -> date | None:
    if not value:
        return None
    if not _DATE.match(value):
        raise InvalidInput(f"{field}: expected a date as YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{field}: no such date") from None


def institution_codes(value: str | None) -> tuple[str, ...]:
    """The subject institutions a person means, as subjects store them: an e-wallet's code
    (from its code in any case) and a bank's BIN (from its BIN, code or short name); a
    name that is both (``MOMO``: the wallet and its VietQR BIN) means both, the e-wallet
    first. Empty for no filter; 422 when it names neither."""
    if not value:
        return ()
    codes = tuple(c for c in (ewallet_code(value), bank_bin(value)) if c is not None)
    if not codes:
        raise InvalidInput("institution: unknown bank or e-wallet")
    return codes


def parse_filters(
    institution: str | None,
    reporter_kind: str | None,
    reported_from: str | None,
    reported_to: str | None,
) -> QueueFilters:
    """The filters from the address; raises ``InvalidInput`` (a 422 page) for bad ones."""
    if reporter_kind and reporter_kind not in {k.value for k in OrgKind}:
        raise InvalidInput("reporter_kind: unknown kind of organisation")
    filters = QueueFilters(
        institution_codes(institution),
        reporter_kind or None,
        _day(reported_from, "reported_from"),
        _day(reported_to, "reported_to"),
    )
    if filters.reported_from and filters.reported_to:
        if filters.reported_from > filters.reported_to:
            raise InvalidInput("reported_from: the first day is after the last one")
    return filters


def institution_options() -> dict[str, list[tuple[str, str]]]:
    """The select's options: banks (BIN, short name and BIN) and e-wallets (code)."""
    bank_options = sorted(((b.bin, f"{b.short_name} ({b.bin})") for b in banks()), key=_label)
    return {"banks": bank_options, "ewallets": [(w.code, w.code) for w in ewallets()]}


def _label(option: tuple[str, str]) -> str:
    return option[1].upper()


@router.get("/queue")
async def review_queue(
    request: Request,
    staff: SignedIn,
    category: Category = None,
    institution: Institution = None,
    reporter_kind: Kind = None,
    reported_from: Day = None,
    reported_to: Day = None,
    cursor: Cursor = None,
    lang: Lang = None,
) -> Response:
    """Reported flags waiting for a police decision, oldest first."""
    need(staff, Scope.FLAGS_REVIEW)
    _ = gettext_for(request, lang)
    filters = parse_filters(institution, reporter_kind, reported_from, reported_to)
    return await list_flags(
        request,
        staff,
        status=FlagStatus.REPORTED,
        category=category,
        cursor=cursor,
        lang=lang,
        heading=_("Review queue"),
        show_status=False,
        filters=filters.repository_arguments(),
        kept=filters.kept(),
        extra={
            "queue_filters": filters.kept(),
            "institutions": institution_options(),
            "reporter_kinds": REPORTER_KINDS,
        },
    )
