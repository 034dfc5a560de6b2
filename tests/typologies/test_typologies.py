"""``GET /v1/typologies``: public, every category, advice in two languages, 30-day counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.reference.catalogue import typologies
from tests.factories import Caller, make_caller

VIETNAMESE = set("ạảãàáâầấậẩẫăằắặẳẵđêềếệểễôồốộổỗơờớợởỡưừứựửữíìỉĩịóòỏõọúùủũụýỳỷỹỵéèẻẽẹ")


async def test_every_category_is_listed_publicly_with_advice(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/typologies")  # no token
    assert response.status_code == 200
    body = response.json()
    assert body["window_days"] == 30
    items = body["items"]
    assert [i["code"] for i in items] == [t.code for t in typologies()]
    assert len(items) == 19
    for item, typology in zip(items, typologies(), strict=True):
        assert (item["name_vi"], item["name_en"]) == (typology.name_vi, typology.name_en)
        assert item["description_en"] == typology.description_en
        assert VIETNAMESE & set(item["description_vi"].lower()), item["code"]
        assert len(item["advice_vi"]) == len(item["advice_en"]) >= 2, item["code"]
        assert all(VIETNAMESE & set(text.lower()) for text in item["advice_vi"]), item["code"]
        assert all(text.isascii() for text in item["advice_en"]), item["code"]
        assert item["newly_flagged_subjects"] == 0


def subject(identifier: str) -> dict[str, str]:
    return {"kind": "bank_account", "institution": "VCB", "identifier": identifier}


class Flagger:
    """Creates flags through the API with the event clock set ``days`` before now."""

    def __init__(self, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
        self.client = client
        self.moment = datetime.now(UTC)
        monkeypatch.setattr("app.audit.repository.utcnow", lambda: self.moment)

    async def post(self, days: float, caller: Caller, url: str, body: Any = None) -> Any:
        self.moment = datetime.now(UTC) - timedelta(days=days)
        headers = {**caller.headers, "If-Match": '"1"'}
        response = await self.client.post(url, json=body or {}, headers=headers)
        assert response.status_code in (200, 201), response.text
        return response.json()

    async def flag(self, days: float, caller: Caller, identifier: str, category: str) -> str:
        body = {"subject": subject(identifier), "category": category}
        flag_id: str = (await self.post(days, caller, "/v1/flags", body))["id"]
        return flag_id


async def test_counts_distinct_subjects_newly_flagged_in_the_last_30_days(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    flagger = Flagger(client, monkeypatch)
    bank = await make_caller(app, client, "VCB", "bank")
    wallet = await make_caller(app, client, "MOMO", "ewallet")
    police = await make_caller(app, client, "C06", "police")
    # One subject reported twice under the same category counts once.
    await flagger.flag(10, bank, "1000000001", "TASK_SCAM")
    await flagger.flag(5, wallet, "1000000001", "TASK_SCAM")
    # A police flag starts confirmed: it is a new flag too.
    await flagger.flag(3, police, "1000000002", "TASK_SCAM")
    # Reported 31 days ago and confirmed recently: not newly flagged in the window.
    old = await flagger.flag(31, bank, "1000000003", "FAKE_SHOP")
    await flagger.post(2, police, f"/v1/flags/{old}/confirm")
    # Flagged 29 days ago then withdrawn: it was still newly flagged in the window.
    gone = await flagger.flag(29, bank, "1000000004", "ROMANCE")
    await flagger.post(1, bank, f"/v1/flags/{gone}/withdraw")
    # One subject under two categories counts under each.
    await flagger.flag(0, bank, "1000000002", "PHISHING_BRAND")

    response = await client.get("/v1/typologies")
    counts = {i["code"]: i["newly_flagged_subjects"] for i in response.json()["items"]}
    assert {code: n for code, n in counts.items() if n} == {
        "TASK_SCAM": 2,
        "ROMANCE": 1,
        "PHISHING_BRAND": 1,
    }
    assert "1000000001" not in response.text and "VCB" not in response.text


async def test_openapi_documents_a_public_endpoint(app: FastAPI) -> None:
    operation = app.openapi()["paths"]["/v1/typologies"]["get"]
    assert "security" not in operation
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/TypologyList"}
    assert "no token" in operation["description"].lower()
