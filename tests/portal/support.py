"""A world of listed subjects, clients at chosen source addresses, and QR images."""

from __future__ import annotations

import io
from typing import Any

import httpx
import segno
from fastapi import FastAPI

from app.identifiers.vietqr import build_vietqr
from tests.factories import Caller, make_caller

CONFIRMED = {"kind": "bank_account", "institution": "VCB", "identifier": "0011002345678"}
REPORTED = {"kind": "phone", "identifier": "0912 345 678"}
UNLISTED = {"kind": "ewallet", "institution": "MOMO", "identifier": "0987 654 321"}
CONFIRMED_QR = build_vietqr("970436", "0011002345678", 2_500_000)


def at(app: FastAPI, address: str = "203.0.113.7", lang: str = "vi") -> httpx.AsyncClient:
    """A client whose requests come from ``address`` (the limits are per address)."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(
        transport=transport, base_url="https://portal.test", cookies={"registry-lang": lang}
    )


async def listed_world(app: FastAPI, client: httpx.AsyncClient) -> dict[str, Caller]:
    """CONFIRMED flagged by police (FAKE_SHOP), REPORTED by two banks (TASK_SCAM)."""
    police = await make_caller(app, client, "C06", "police")
    acb = await make_caller(app, client, "ACB", "bank", "ACB")
    tcb = await make_caller(app, client, "TCB", "bank", "TCB")
    flags: list[tuple[Caller, dict[str, Any], str]] = [
        (police, CONFIRMED, "FAKE_SHOP"),
        (acb, REPORTED, "TASK_SCAM"),
        (tcb, REPORTED, "TASK_SCAM"),
    ]
    for caller, subject, category in flags:
        body = {
            "subject": subject,
            "category": category,
            "description": "victim statement",
            "case_reference": "HCM-2026-0042" if caller is police else None,
            "holder_name": "Nguyễn Văn Mười",
            "amount_lost_vnd": 7_000_000,
        }
        created = await client.post("/v1/flags", json=body, headers=caller.headers)
        assert created.status_code == 201, created.text
    return {"police": police, "acb": acb, "tcb": tcb}


def qr_png(payload: str, scale: int = 6) -> bytes:
    out = io.BytesIO()
    segno.make(payload, error="m").save(out, kind="png", scale=scale, border=4)
    return out.getvalue()
