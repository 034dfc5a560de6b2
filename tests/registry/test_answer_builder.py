"""One lookup answer, whichever door: the ASGI fast path, the framework route, a batch item
and the VietQR lookup answer the same subject with the same bytes (app.subjects.answer)."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from app.config import Settings
from app.main import create_app
from app.subjects import endpoints
from app.subjects.schemas import LookupResult
from tests.factories import Caller, make_caller
from tests.registry.test_flags_and_lookup import ACCOUNT, flag_body

WARN = {"kind": "phone", "identifier": "0987 654 321"}
HOLD = {"kind": "bank_account", "institution": "ACB", "identifier": "257678859"}
UNLISTED = {"kind": "phone", "identifier": "0912345678"}
DISPUTED = ACCOUNT  # held at VCB, so VCB may dispute it
SUBJECTS = [WARN, HOLD, UNLISTED, DISPUTED]
# The shape each subject must have, so that the comparisons below cover what they claim.
EXPECTED = [("warn", False), ("hold", False), ("allow", False), ("warn", True)]
# HOLD's account as a VietQR code (amount 1,000 VND), as in test_vietqr_lookup.
VIETQR = (
    "00020101021238530010A0000007270123000697041601092576788590208QRIBFTTA530370454"
    "0410005802VN62150811Chuyen tien6304BBB8"
)
VIETQR_FIELDS = b',"bin":"970416","account":"257678859","amount_vnd":1000}'
_WARNING_ID = re.compile(rb'"warning_id":"[0-9a-f-]{36}"')


@contextlib.asynccontextmanager
async def framework_app(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A second app on the same database and signing key, with the fast path off."""
    application = create_app(settings.model_copy(update={"lookup_fast_path": False}))
    async with LifespanManager(application, startup_timeout=30, shutdown_timeout=30):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as c:
            # As a load balancer would: a process just started serves once it is ready.
            for _ in range(100):
                if (await c.get("/readyz")).status_code == 200:
                    break
                await asyncio.sleep(0.1)
            yield c


async def build_listings(app: Any, client: httpx.AsyncClient) -> dict[str, Caller]:
    police = await make_caller(app, client, "C06", "police")
    holder = await make_caller(app, client, "VCB", "bank")
    reporter = await make_caller(app, client, "ACB", "bank", "ACB")
    for subject, caller in ((WARN, reporter), (HOLD, police), (DISPUTED, reporter)):
        created = await client.post("/v1/flags", json=flag_body(subject), headers=caller.headers)
        assert created.status_code == 201, created.text
    opened = await client.post(
        "/v1/disputes", json={"subject": DISPUTED, "reason": "salary"}, headers=holder.headers
    )
    assert opened.status_code == 201, opened.text
    return {"police": police, "bank": holder}


def count_calls(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    """Count the framework route's calls of ``endpoints.<name>`` (the fast path has its own
    reference to it, so only the framework's calls are counted)."""
    calls = [0]
    real: Callable[..., Any] = getattr(endpoints, name)

    async def counted(*args: Any) -> Any:
        calls[0] += 1
        return await real(*args)

    monkeypatch.setattr(endpoints, name, counted)
    return calls


async def answers(
    http: httpx.AsyncClient, caller: Caller, normalise: Callable[[bytes], bytes]
) -> tuple[list[bytes], bytes]:
    """Each subject's single lookup body, and the batch body of all of them."""
    singles = []
    for subject in SUBJECTS:
        response = await http.post("/v1/lookup", json=subject, headers=caller.headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        singles.append(normalise(response.content))
    batch = await http.post("/v1/lookup/batch", json={"items": SUBJECTS}, headers=caller.headers)
    assert batch.status_code == 200, batch.text
    return singles, normalise(batch.content)


def assert_same_answers(
    fast: tuple[list[bytes], bytes], framework: tuple[list[bytes], bytes]
) -> None:
    singles, batch = fast
    assert singles == framework[0]
    assert batch == framework[1]
    for index, single in enumerate(singles):
        # The documented model would encode the same bytes (what the route used to send).
        assert LookupResult.model_validate_json(single).model_dump_json().encode() == single
        assert b'{"index":%d,"result":%s,"error":null}' % (index, single) in batch
    shapes = [(a.action, a.under_dispute) for a in map(LookupResult.model_validate_json, singles)]
    assert shapes == EXPECTED


async def test_fast_path_framework_route_and_batch_answer_the_same_bytes(
    app: Any, client: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    police = (await build_listings(app, client))["police"]
    single_calls = count_calls(monkeypatch, "answer_one")
    batch_calls = count_calls(monkeypatch, "answer_batch")
    fast = await answers(client, police, lambda body: body)
    assert (single_calls, batch_calls) == ([0], [0])  # the fast path answered
    async with framework_app(settings) as framework:
        slow = await answers(framework, police, lambda body: body)
        assert (single_calls, batch_calls) == ([len(SUBJECTS)], [1])  # the framework did
        vietqr = await framework.post(
            "/v1/lookup/vietqr", json={"payload": VIETQR}, headers=police.headers
        )
    assert_same_answers(fast, slow)
    assert all(b'"warning_id":null}' in body for body in fast[0])  # police: never warned
    assert vietqr.status_code == 200, vietqr.text
    assert vietqr.content == fast[0][SUBJECTS.index(HOLD)][:-1] + VIETQR_FIELDS


async def test_a_banks_warned_answers_are_the_same_bytes_but_the_warning_id(
    app: Any, client: httpx.AsyncClient, settings: Settings
) -> None:
    bank = (await build_listings(app, client))["bank"]
    seen: list[int] = []

    def normalise(body: bytes) -> bytes:
        replaced, n = _WARNING_ID.subn(b'"warning_id":"W"', body)
        seen.append(n)
        return replaced

    fast = await answers(client, bank, normalise)
    async with framework_app(settings) as framework:
        slow = await answers(framework, bank, normalise)
    assert_same_answers(fast, slow)
    # warn, hold, allow, warn: one warning each but the allow, in singles and batches.
    assert seen == [1, 1, 0, 1, 3] * 2
