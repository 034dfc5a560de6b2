"""Report tests: settings that leave expiry to the test, and the known history."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from app.config import Settings
from tests.reports.history import History, first_half, second_half, start_history


@pytest.fixture
def settings(database_url: str, key_file: Path) -> Settings:
    # The background expiry pass would expire flags by the real clock; these tests decide
    # when expiry happens in the history they write.
    return Settings(
        database_url=database_url,
        jwt_key_file=key_file,
        expiry_interval_seconds=86_400,
        flag_ttl_days=90,
        dispute_days=15,
    )


@pytest.fixture
async def history(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> History:
    """The whole known history of ``history.py``: 2026 and one event in 2027."""
    h = await start_history(app, client, monkeypatch)
    await first_half(h)
    await second_half(h)
    return h
