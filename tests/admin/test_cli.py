"""The command line's org and client commands: the same services, the same rules, and
the commands the admin API added (`org reactivate`, `client rotate-secret`)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from app.cli import cli
from app.config import get_settings
from tests.admin.support import events, token_status


@pytest.fixture
def registry(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("REGISTRY_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def run(*args: str, code: int = 0) -> Any:
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    return json.loads(result.stdout) if code == 0 and "--json" in args else result


async def arun(*args: str, code: int = 0) -> Any:
    """``run`` off the event loop (the command line runs one of its own)."""
    return await asyncio.to_thread(run, *args, code=code)


async def test_reactivate_and_rotate_secret_from_the_command_line(
    app: FastAPI, client: httpx.AsyncClient, registry: None
) -> None:
    await arun("org", "create", "--code", "C06", "--name", "C06", "--kind", "police", "--json")
    created = await arun("client", "create", "--org", "C06", "--scopes", "lookup", "--json")
    cid, old = created["client_id"], created["client_secret"]
    assert await token_status(client, cid, old) == 200

    rotated = await arun("client", "rotate-secret", cid, "--json")
    assert rotated["client_id"] == cid and rotated["client_secret"] != old
    assert await token_status(client, cid, old) == 401
    assert await token_status(client, cid, rotated["client_secret"]) == 200

    assert (await arun("org", "deactivate", "C06", "--json"))["active"] is False
    assert await token_status(client, cid, rotated["client_secret"]) == 401
    assert (await arun("org", "deactivate", "C06", "--json"))["active"] is False  # idempotent
    assert (await arun("org", "reactivate", "C06", "--json"))["active"] is True
    assert await token_status(client, cid, rotated["client_secret"]) == 200

    assert (await arun("client", "revoke", cid, "--json"))["active"] is False
    refused = await arun("client", "rotate-secret", cid, code=1)
    assert "revoked" in refused.stderr
    assert (await arun("org", "reactivate", "NOPE", code=1)).exit_code == 1

    org_actions = [e.action for e in await events(app, "organisation", "C06")]
    assert org_actions == ["created", "deactivated", "reactivated"]
    client_events = await events(app, "client", cid)
    assert [e.action for e in client_events] == ["created", "secret_rotated", "revoked"]
    assert {e.actor_client for e in client_events} == {"cli"}
    verify = await arun("audit", "verify", "--json")
    assert verify["ok"] is True and verify["state_ok"] is True, verify


@pytest.mark.parametrize(
    "args",
    [
        ["--code", "lower", "--name", "n", "--kind", "police"],
        ["--code", "C06", "--name", "n", "--kind", "bakery"],
        ["--code", "C06", "--name", "n" * 201, "--kind", "police"],
        ["--code", "VCB", "--name", "n", "--kind", "bank", "--institution", "NOPE"],
    ],
)
def test_the_command_line_refuses_what_the_api_refuses(registry: None, args: list[str]) -> None:
    """One model validates both (app.organisations.schemas); no second copy of a rule."""
    result = run("org", "create", *args, code=1)
    assert "error" in result.stderr


def test_the_command_line_refuses_scopes_the_kind_may_not_hold(registry: None) -> None:
    run("org", "create", "--code", "C06", "--name", "C06", "--kind", "police")
    result = run("client", "create", "--org", "C06", "--scopes", "admin", code=1)
    assert "scopes" in result.stderr
