"""Abuse over HTTP: limits per address and overall, hostile images, hostile report text."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from PIL import Image
from sqlalchemy import select

from app.config import Settings
from app.main import create_app
from app.models import CitizenReport
from tests.portal.support import CONFIRMED_QR, UNLISTED, at, qr_png

REPORT = {"subject": UNLISTED, "description": "took the money"}


@pytest.fixture
async def tight(settings: Settings) -> AsyncIterator[FastAPI]:
    """Limits small enough to reach in a test."""
    limited = settings.model_copy(
        update={
            "public_checks_per_address": 3,
            "public_checks_global": 5,
            "public_reports_per_address": 2,
            "public_reports_global": 3,
        }
    )
    application = create_app(limited)
    async with LifespanManager(application, startup_timeout=30, shutdown_timeout=30):
        yield application


async def test_a_burst_from_one_address_is_429_and_others_still_answered(tight: FastAPI) -> None:
    body = {"subject": UNLISTED}
    async with at(tight, "198.51.100.1") as one, at(tight, "198.51.100.2") as two:
        answers = [(await one.post("/v1/public/check", json=body)).status_code for _ in range(4)]
        other = await two.post("/v1/public/check", json=body)
        page = await one.post("/kiem-tra", data={"kind": "phone", "identifier": "0912345678"})
    assert answers == [200, 200, 200, 429]
    assert other.status_code == 200
    assert page.status_code == 429 and "text/html" in page.headers["content-type"]
    assert int(page.headers["Retry-After"]) >= 1


async def test_the_global_budget_holds_across_addresses(tight: FastAPI) -> None:
    statuses = []
    for n in range(7):
        async with at(tight, f"192.0.2.{n}") as http:
            response = await http.post("/v1/public/check", json={"subject": UNLISTED})
            statuses.append(response.status_code)
    assert statuses == [200] * 5 + [429] * 2
    assert "Retry-After" in response.headers


async def test_reports_are_limited_per_address(tight: FastAPI) -> None:
    async with at(tight, "198.51.100.9") as http:
        statuses = [
            (await http.post("/v1/public/reports", json=REPORT)).status_code for _ in range(3)
        ]
    assert statuses == [201, 201, 429]


def _png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares ``width`` × ``height`` (a decompression bomb's
    shape: a few bytes that would decode to gigabytes)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


def _jpeg(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("L", size, 255).save(out, format="JPEG")
    return out.getvalue()


async def _upload(http: httpx.AsyncClient, data: bytes, name: str = "qr.png") -> httpx.Response:
    return await http.post("/kiem-tra/anh", files={"image": (name, data, "image/png")})


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (_png_declaring(60_000, 60_000), "too large"),
        (_png_declaring(200_000, 2), "too large"),
        (b"GIF89a" + b"\x00" * 20, "not an image"),
        (b"%PDF-1.7\n" + b"A" * 1000, "not an image"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "not an image"),
        (qr_png(CONFIRMED_QR)[:200], "damaged"),
        (_jpeg((300, 300)), "no QR code"),
        (b"", "no image"),
    ],
    ids=["bomb", "huge-side", "bad-gif", "pdf", "svg", "truncated", "no-qr", "empty"],
)
async def test_hostile_images_are_refused_with_422(app: FastAPI, data: bytes, said: str) -> None:
    async with at(app, lang="en") as http:
        response = await _upload(http, data)
    assert response.status_code == 422, response.text[:500]
    assert said in response.text, response.text[response.text.find("<main") :][:600]
    assert "text/html" in response.headers["content-type"]


async def test_an_upload_over_the_byte_limit_is_refused(app: FastAPI) -> None:
    async with at(app) as http:
        big = await _upload(http, b"\x89PNG" + b"\x00" * 1_010_000)
        huge = await _upload(http, b"\x89PNG" + b"\x00" * 3_000_000)
        api = await http.post("/v1/public/reports", content=b"x" * 2_000_000)
    assert big.status_code in (413, 422)
    assert huge.status_code == 413
    # A page for the person who sent a phone screenshot; the API keeps problem+json.
    assert huge.headers["content-type"].startswith("text/html")
    assert "quá lớn" in huge.text and "too large" in huge.text
    assert api.status_code == 413
    assert api.headers["content-type"] == "application/problem+json"


async def test_a_qr_photo_is_decoded(app: FastAPI) -> None:
    async with at(app) as http:
        response = await _upload(http, qr_png(CONFIRMED_QR))
        jpeg = io.BytesIO()
        Image.open(io.BytesIO(qr_png(CONFIRMED_QR, 10))).convert("RGB").save(jpeg, "JPEG")
        photo = await _upload(http, jpeg.getvalue(), "photo.jpg")
    for answer in (response, photo):
        assert answer.status_code == 200, answer.text[:2000]
        assert "0011002345678" in answer.text and "2.500.000" in answer.text


async def test_hostile_report_text_is_refused_or_stored_inert(app: FastAPI) -> None:
    hostile = "<script>alert(1)</script><img src=x onerror=alert(2)> ' OR 1=1 --"
    async with at(app) as http:
        nul = await http.post("/v1/public/reports", json={**REPORT, "description": "a\x00b"})
        surrogate = await http.post(
            "/v1/public/reports",
            content=b'{"subject": {"kind": "phone", "identifier": "0912345678"}, '
            b'"description": "\\ud800"}',
            headers={"content-type": "application/json"},
        )
        long = await http.post("/v1/public/reports", json={**REPORT, "description": "x" * 2001})
        negative = await http.post("/v1/public/reports", json={**REPORT, "amount_vnd": -1})
        fine = await http.post("/v1/public/reports", json={**REPORT, "description": hostile})
        form_nul = await http.post(
            "/bao-cao", data={"kind": "phone", "identifier": "0912345678", "description": "\x00"}
        )
    for refused in (nul, surrogate, long, negative):
        assert refused.status_code == 422, refused.text
    assert form_nul.status_code == 422
    assert fine.status_code == 201
    async with app.state.runtime.db.read_session() as session:
        stored = (await session.execute(select(CitizenReport))).scalars().all()
    assert [r.description for r in stored] == [hostile]


async def test_why_an_image_is_refused_is_said_in_vietnamese(app: FastAPI) -> None:
    async with at(app) as http:
        response = await _upload(http, b"not an image at all")
    assert response.status_code == 422
    assert "Không dùng được ảnh này: đây không phải ảnh" in response.text
