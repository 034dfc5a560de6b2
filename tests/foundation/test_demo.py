"""`make demo` as a new user meets it: the printed tokens work against the demo's server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from app.config import Settings, get_settings
from app.demo import prepare_demo
from app.main import create_app


def test_the_printed_demo_tokens_answer_lookups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # prepare_demo runs its own event loop, as the command does; the environment it sets is
    # restored afterwards by monkeypatch, which saw each variable first.
    monkeypatch.setenv("REGISTRY_DATABASE_URL", f"sqlite:///{tmp_path / 'unused.db'}")
    monkeypatch.setenv("REGISTRY_JWT_KEY_FILE", str(tmp_path / "demo-key.pem"))
    monkeypatch.setenv("REGISTRY_CHECKPOINT_KEY_FILE", str(tmp_path / "demo-checkpoint.pem"))
    monkeypatch.delenv("REGISTRY_TOKEN_TTL_SECONDS", raising=False)
    get_settings.cache_clear()
    try:
        info = prepare_demo(str(tmp_path / "demo.db"), host="127.0.0.1", port=8000)
        settings = get_settings().model_copy(update={"gc_freeze_after_start": False})
    finally:
        get_settings.cache_clear()
    asyncio.run(_lookups(settings, info.callers))


async def _lookups(settings: Settings, callers: list[dict[str, Any]]) -> None:
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://demo.test") as http:
            for caller in callers:
                headers = {"Authorization": f"Bearer {caller['token']}"}
                if "lookup" not in caller["scopes"].split():
                    continue
                answer = await http.post(
                    "/v1/lookup",
                    json={"kind": "bank_account", "institution": "ACB", "identifier": "257678859"},
                    headers=headers,
                )
                assert answer.status_code == 200, (caller["org"], answer.text)
