"""A known history, written through the real API at chosen moments.

The registry stamps change events with ``EventWriter.now`` (``app.audit.repository.utcnow``);
the tests replace that clock, so every flag, dispute and recovery entry is created by the
real services at a chosen instant and the hash chain stays valid. Warnings and lookup
counts are inserted directly with their timestamps.

Times are Vietnam time. Boundaries exercised: 2026-06-30 23:59:59 (H1) against
2026-07-01 00:00:00 (H2); 23:59 on 31 January and 31 March; 2026-12-31 23:59:59 against
2027-01-01 00:00:00.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.auth.actor import Actor
from app.db.unit_of_work import unit_of_work
from app.flags.service import expire_flags
from app.models import LookupCount, Organisation, Warning
from tests.factories import Caller, make_caller

VN = timezone(timedelta(hours=7))

A = {"kind": "bank_account", "institution": "VCB", "identifier": "0011002345678"}
B = {"kind": "bank_account", "institution": "VCB", "identifier": "1234567890"}
C = {"kind": "ewallet", "institution": "MOMO", "identifier": "0912345678"}
D = {"kind": "phone", "identifier": "0987654321"}
E = {"kind": "bank_account", "institution": "VCB", "identifier": "5555666677"}
F = {"kind": "phone", "identifier": "0977000111"}
G = {"kind": "ewallet", "institution": "MOMO", "identifier": "0933000222"}
H = {"kind": "phone", "identifier": "0977000333"}
K = {"kind": "bank_account", "institution": "VCB", "identifier": "7777888899"}


def vn(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    """A moment in Vietnam time."""
    return datetime(year, month, day, hour, minute, second, tzinfo=VN)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now.astimezone(UTC)


@dataclass
class History:
    app: FastAPI
    client: httpx.AsyncClient
    clock: Clock
    callers: dict[str, Caller] = field(default_factory=dict)
    flags: dict[str, tuple[str, int]] = field(default_factory=dict)
    disputes: dict[str, str] = field(default_factory=dict)

    def at(self, moment: datetime) -> History:
        self.clock.now = moment
        return self

    async def _post(self, who: str, url: str, body: dict[str, Any], **headers: str) -> Any:
        response = await self.client.post(
            url, json=body, headers={**self.callers[who].headers, **headers}
        )
        assert response.status_code in (200, 201), response.text
        return response.json()

    async def flag(self, name: str, who: str, subject: dict[str, str], category: str) -> None:
        body = {"subject": subject, "category": category, "description": name}
        flag = await self._post(who, "/v1/flags", body)
        self.flags[name] = (flag["id"], flag["version"])

    async def decide(self, name: str, who: str, action: str) -> None:
        flag_id, version = self.flags[name]
        url = f"/v1/flags/{flag_id}/{action}"
        flag = await self._post(who, url, {}, **{"If-Match": f'"{version}"'})
        self.flags[name] = (flag_id, flag["version"])

    async def dispute(self, name: str, who: str, subject: dict[str, str]) -> None:
        body = {"subject": subject, "reason": f"customer contests {name}"}
        self.disputes[name] = (await self._post(who, "/v1/disputes", body))["id"]

    async def resolve(self, name: str, who: str, outcome: str) -> None:
        url = f"/v1/disputes/{self.disputes[name]}/resolve"
        await self._post(who, url, {"outcome": outcome, "note": "decided"}, **{"If-Match": '"1"'})

    async def recovery(self, who: str, subject: dict[str, str], action: str, amount: int) -> None:
        body = {"subject": subject, "action": action, "amount_vnd": amount}
        await self._post(who, "/v1/recoveries", body)

    async def expire(self) -> int:
        runtime = self.app.state.runtime
        async with unit_of_work(runtime.db, Actor.command_line("expiry")) as uow:
            expired = await expire_flags(uow, self.clock())
        await runtime.mirror.refresh()
        return expired

    async def org_id(self, code: str) -> int:
        async with self.app.state.runtime.db.read_session() as session:
            stmt = select(Organisation.id).where(Organisation.code == code)
            org_id: int = (await session.execute(stmt)).scalar_one()
            return org_id

    async def warning(
        self,
        org: str,
        created: datetime,
        action: str,
        outcome: tuple[str, int, datetime] | None = None,
    ) -> None:
        row = Warning(
            id=str(uuid.uuid4()),
            organisation_id=await self.org_id(org),
            subject_key="bank_account:970436:0011002345678",
            risk_level=3 if action == "hold" else 1,
            action=action,
            registry_version=1,
            created_at=created,
        )
        if outcome is not None:
            row.outcome, row.amount_vnd, row.outcome_at = outcome
        async with self.app.state.runtime.db.write_session() as session:
            session.add(row)
            await session.commit()

    async def lookups(self, org: str, day: date, lookups: int, warned: int) -> None:
        row = LookupCount(
            organisation_id=await self.org_id(org), day=day, lookups=lookups, warned=warned
        )
        async with self.app.state.runtime.db.write_session() as session:
            session.add(row)
            await session.commit()


async def start_history(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> History:
    """Organisations of every kind, created in December 2025, and the test clock."""
    clock = Clock(vn(2025, 12, 1, 9, 0))
    monkeypatch.setattr("app.audit.repository.utcnow", clock)
    history = History(app, client, clock)
    for code, kind in (
        ("VCB", "bank"),
        ("MOMO", "ewallet"),
        ("VTL", "telecom"),
        ("C06", "police"),
        ("SBV", "regulator"),
        ("AUD", "auditor"),
    ):
        history.callers[code] = await make_caller(app, client, code, kind)
    return history


async def first_half(h: History) -> None:
    """Everything up to 2026-06-30 23:59:59 (Vietnam time)."""
    await h.at(vn(2026, 1, 10, 9, 0)).flag("A1", "VCB", A, "TASK_SCAM")
    await h.at(vn(2026, 1, 31, 23, 59)).flag("D1", "VTL", D, "IMPERSONATE_AUTHORITY")
    await h.at(vn(2026, 2, 1, 0, 0)).flag("C1", "MOMO", C, "INVESTMENT_CRYPTO")
    await h.at(vn(2026, 2, 10, 8, 0)).flag("B1", "C06", B, "IMPERSONATE_AUTHORITY")
    await h.at(vn(2026, 2, 15, 9, 0)).recovery("C06", B, "freeze", 50_000_000)
    await h.at(vn(2026, 3, 5, 10, 0)).decide("A1", "C06", "confirm")
    await h.at(vn(2026, 3, 20, 14, 0)).flag("E1", "VCB", E, "FAKE_SHOP")
    await h.at(vn(2026, 3, 31, 23, 59)).recovery("VCB", A, "freeze", 3_000_000_000)
    await h.at(vn(2026, 4, 2, 11, 0)).decide("E1", "C06", "reject")
    await h.at(vn(2026, 4, 30, 23, 59, 59)).decide("C1", "C06", "confirm")
    # D1 reached its 90-day TTL at 2026-05-01 23:59; nothing else is due yet.
    assert await h.at(vn(2026, 5, 1, 23, 59, 30)).expire() == 1
    await h.at(vn(2026, 5, 20, 10, 0)).dispute("first", "VCB", A)
    await h.at(vn(2026, 6, 10, 9, 0)).flag("K1", "VCB", K, "FAKE_LOAN")
    await h.at(vn(2026, 6, 11, 9, 0)).flag("K2", "MOMO", K, "FAKE_LOAN")
    await h.at(vn(2026, 6, 30, 23, 59, 59)).dispute("second", "MOMO", C)
    await h.recovery("C06", B, "release", 10_000_000)
    await h.warning(
        "VCB", vn(2025, 12, 31, 23, 59, 59), "hold", ("cancelled", 2_000_000, vn(2026, 1, 1))
    )
    await h.warning(
        "VCB", vn(2026, 1, 15, 10, 0), "hold", ("cancelled", 5_000_000, vn(2026, 1, 15, 10, 5))
    )
    await h.warning("VCB", vn(2026, 3, 31, 23, 59), "warn")
    await h.warning(
        "VCB", vn(2026, 6, 30, 23, 59, 59), "warn", ("cancelled", 7_000_000, vn(2026, 7, 1))
    )
    await h.lookups("VTL", date(2025, 12, 31), 999, 9)
    await h.lookups("VCB", date(2026, 1, 31), 100, 3)
    await h.lookups("SBV", date(2026, 2, 1), 4, 4)
    await h.lookups("MOMO", date(2026, 6, 30), 50, 2)


async def second_half(h: History) -> None:
    """From 2026-07-01 00:00:00 on, including one event in 2027."""
    await h.at(vn(2026, 7, 1, 0, 0)).resolve("first", "C06", "rejected")
    await h.recovery("C06", B, "return", 30_000_000)
    await h.flag("F1", "VTL", F, "PRIZE_SCAM")
    await h.at(vn(2026, 7, 3, 11, 59, 59)).resolve("second", "SBV", "upheld")
    await h.at(vn(2026, 8, 31, 23, 59)).decide("F1", "VTL", "withdraw")
    await h.at(vn(2026, 12, 31, 23, 59, 59)).flag("G1", "MOMO", G, "ROMANCE")
    await h.at(vn(2027, 1, 1, 0, 0)).flag("H1", "VTL", H, "OTHER")
    await h.warning("VCB", vn(2026, 7, 1), "hold", ("proceeded", 1_000_000, vn(2026, 7, 2, 9, 0)))
    await h.lookups("VCB", date(2026, 7, 1), 20, 1)
    await h.lookups("C06", date(2026, 12, 31), 7, 0)
    await h.lookups("VTL", date(2027, 1, 1), 11, 0)
