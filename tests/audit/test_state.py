"""State from history (SPEC §8): every state table's rows equal their latest change events;
the server refuses lookups from a subject table edited behind the chain; warnings are sealed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import select
from typer.testing import CliRunner

from app.audit.verify import verify_chain
from app.cli import cli
from app.config import Settings, get_settings
from app.main import create_app
from app.models import ChangeEvent, Client, Dispute, Flag, RecoveryEntry, Subject, Warning
from app.warnings.seal import seal_warnings
from tests.audit.test_chain import tamper
from tests.factories import Caller, make_caller
from tests.imports.test_import import phone_rows, run_import, write_csv
from tests.registry.test_flags_and_lookup import ACCOUNT, KEY, flag_body, lookup


@dataclass
class World:
    police: Caller
    bank: Caller
    auditor: Caller
    flag_id: str
    dispute_id: str
    recovery_id: str
    warning_id: str


async def build_world(app: FastAPI, client: httpx.AsyncClient, tmp_path: Path) -> World:
    """Flags, a dispute, recoveries, a warning with an outcome, orgs, clients, an import."""
    bank = await make_caller(app, client, "VCB", "bank")
    police = await make_caller(app, client, "C06", "police")
    auditor = await make_caller(app, client, "AUD", "auditor")
    flagged = await client.post("/v1/flags", json=flag_body(), headers=police.headers)
    assert flagged.status_code == 201, flagged.text
    other = {"kind": "bank_account", "institution": "VCB", "identifier": "99887766"}
    assert (
        await client.post("/v1/flags", json=flag_body(other), headers=bank.headers)
    ).status_code == 201
    dispute = await client.post(
        "/v1/disputes", json={"subject": ACCOUNT, "reason": "salary"}, headers=bank.headers
    )
    assert dispute.status_code == 201, dispute.text
    recovery = await client.post(
        "/v1/recoveries",
        headers=bank.headers,
        json={"subject": ACCOUNT, "action": "freeze", "amount_vnd": 1_000_000},
    )
    assert recovery.status_code == 201, recovery.text
    # A subject created by a recovery entry alone (no subject event: not listed).
    quiet = {"kind": "bank_account", "institution": "VCB", "identifier": "55554444"}
    assert (
        await client.post(
            "/v1/recoveries",
            headers=bank.headers,
            json={"subject": quiet, "action": "freeze", "amount_vnd": 5},
        )
    ).status_code == 201
    held = await lookup(client, bank, ACCOUNT)
    assert held["warning_id"]
    outcome = await client.post(
        f"/v1/warnings/{held['warning_id']}/outcome",
        json={"outcome": "cancelled", "amount_vnd": 7_000_000},
        headers=bank.headers,
    )
    assert outcome.status_code == 200, outcome.text
    await lookup(client, bank, other)  # a warning without an outcome
    await run_import(app, "VCB", write_csv(tmp_path / "flags.csv", phone_rows(5)))
    return World(
        police,
        bank,
        auditor,
        flagged.json()["id"],
        dispute.json()["id"],
        recovery.json()["id"],
        held["warning_id"],
    )


async def verify_http(client: httpx.AsyncClient, world: World) -> dict[str, Any]:
    response = await client.get("/v1/audit/verify", headers=world.auditor.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def latest_seq(app: FastAPI, entity_type: str, entity_id: str) -> int:
    async with app.state.runtime.db.read_session() as session:
        stmt = select(ChangeEvent.seq).where(
            ChangeEvent.entity_type == entity_type, ChangeEvent.entity_id == entity_id
        )
        return max((await session.execute(stmt)).scalars().all())


@pytest.fixture
def registry(database_url: str, key_file: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("REGISTRY_DATABASE_URL", database_url)
    monkeypatch.setenv("REGISTRY_JWT_KEY_FILE", str(key_file))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def cli_verify() -> int:
    """``registry audit verify``'s exit code (in a thread: the CLI runs its own loop)."""
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["audit", "verify", "--json"])
    return result.exit_code


async def test_an_untouched_registry_verifies_with_state_ok(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path, registry: None
) -> None:
    world = await build_world(app, client, tmp_path)
    result = await verify_http(client, world)
    assert result["ok"] and result["state_ok"], result
    assert result["first_state_mismatch"] is None
    assert result["unsealed_warnings"] == 2
    assert await cli_verify() == 0


# (entity type, entity id attribute of World or a literal, statements with {id})
TAMPERS: list[tuple[str, str, list[str], bool]] = [
    ("subject", KEY, ["UPDATE subject SET risk_level = 0 WHERE key = '{id}'"], True),
    ("subject", KEY, ["UPDATE subject SET categories = '[]' WHERE key = '{id}'"], True),
    (
        "subject",
        "bank_account:970436:12121212",
        [
            "INSERT INTO subject (key, kind, institution, identifier, risk_level, categories,"
            " under_dispute, version) VALUES ('{id}', 'bank_account', '970436', '12121212',"
            " 3, '[]', false, 1)"
        ],
        False,
    ),
    ("flag", "flag_id", ["UPDATE flag SET status = 'withdrawn' WHERE id = '{id}'"], True),
    ("flag", "flag_id", ["UPDATE flag SET description = 'x' WHERE id = '{id}'"], True),
    ("flag", "flag_id", ["DELETE FROM flag WHERE id = '{id}'"], True),
    ("dispute", "dispute_id", ["UPDATE dispute SET status = 'upheld' WHERE id = '{id}'"], True),
    ("dispute", "dispute_id", ["DELETE FROM dispute WHERE id = '{id}'"], True),
    (
        "recovery",
        "recovery_id",
        ["UPDATE recovery_entry SET amount_vnd = 1 WHERE id = '{id}'"],
        True,
    ),
    ("recovery", "recovery_id", ["DELETE FROM recovery_entry WHERE id = '{id}'"], True),
    (
        "recovery",
        "00000000-0000-0000-0000-000000000001",
        [
            "INSERT INTO recovery_entry (id, subject_id, organisation_id, action, amount_vnd,"
            " created_at) SELECT '{id}', subject_id, organisation_id, 'release', 1000000,"
            " created_at FROM recovery_entry LIMIT 1"
        ],
        False,
    ),
    ("warning", "warning_id", ["UPDATE warning SET amount_vnd = 9 WHERE id = '{id}'"], True),
    (
        "warning",
        "warning_id",
        [
            "UPDATE warning SET outcome = NULL, amount_vnd = NULL,"
            " outcome_at = NULL WHERE id = '{id}'"
        ],
        True,
    ),
    ("warning", "warning_id", ["DELETE FROM warning WHERE id = '{id}'"], True),
    ("organisation", "VCB", ["UPDATE organisation SET kind = 'police' WHERE code = '{id}'"], True),
    (
        "organisation",
        "ROGUE",
        [
            "INSERT INTO organisation (code, name, kind, active, version, created_at,"
            " updated_at) SELECT '{id}', 'x', 'police', true, 1, created_at, updated_at"
            " FROM organisation LIMIT 1"
        ],
        False,
    ),
    (
        "client",
        "bank_client",
        ["UPDATE client SET scopes = 'audit:read' WHERE client_id = '{id}'"],
        True,
    ),
    ("client", "bank_client", ["DELETE FROM client WHERE client_id = '{id}'"], True),
    # Another secret's hash put in place: whoever knows that secret would hold the client.
    (
        "client",
        "bank_client",
        [
            "UPDATE client SET secret_hash = 'scrypt$16384$8$1$c2FsdA==$ZGlnZXN0'"
            " WHERE client_id = '{id}'"
        ],
        True,
    ),
]


@pytest.mark.parametrize(
    ("entity_type", "which", "statements", "has_event"),
    TAMPERS,
    ids=[f"{t[0]}-{t[2][0].split()[0].lower()}-{i}" for i, t in enumerate(TAMPERS)],
)
async def test_a_state_table_edited_behind_the_chain_is_found(
    app: FastAPI,
    client: httpx.AsyncClient,
    tmp_path: Path,
    registry: None,
    entity_type: str,
    which: str,
    statements: list[str],
    has_event: bool,
) -> None:
    world = await build_world(app, client, tmp_path)
    if which == "bank_client":
        entity_id = world.bank.client_id
    else:
        entity_id = getattr(world, which, which)
    await tamper(app, *(s.format(id=entity_id) for s in statements))
    result = await verify_http(client, world)
    assert result["ok"] is False and result["state_ok"] is False, result
    assert result["first_bad_seq"] is None  # the chain itself is intact
    expected_seq = await latest_seq(app, entity_type, entity_id) if has_event else None
    assert result["first_state_mismatch"]["entity_type"] == entity_type
    assert result["first_state_mismatch"]["entity_id"] == entity_id
    assert result["first_state_mismatch"]["seq"] == expected_seq
    assert await cli_verify() == 1


async def test_a_subject_edited_behind_the_chain_stops_lookups_at_start(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    police = await make_caller(app, client, "C06", "police")
    bank = await make_caller(app, client, "VCB", "bank")
    assert (await client.post("/v1/flags", json=flag_body(), headers=police.headers)).is_success
    assert (await lookup(client, bank, ACCOUNT))["action"] == "hold"
    await tamper(
        app,
        f"UPDATE subject SET risk_level = 0, categories = '[]' WHERE key = '{KEY}'",
        "UPDATE flag SET status = 'withdrawn'",
    )
    restarted = create_app(settings)
    async with LifespanManager(restarted, startup_timeout=30, shutdown_timeout=30):
        transport = httpx.ASGITransport(app=restarted)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as c:
            ready = await c.get("/readyz")
            assert ready.status_code == 503
            assert KEY in ready.json()["detail"]
            token = await c.post(
                "/v1/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": bank.client_id,
                    "client_secret": bank.secret,
                },
            )
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            assert (await c.post("/v1/lookup", json=ACCOUNT, headers=headers)).status_code == 503
            batch = await c.post("/v1/lookup/batch", json={"items": [ACCOUNT]}, headers=headers)
            assert batch.status_code == 503
    assert any(r.levelname == "ERROR" and KEY in r.getMessage() for r in caplog.records)


async def test_an_untouched_registry_starts_ready(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    await build_world(app, client, tmp_path)
    restarted = create_app(settings)
    async with LifespanManager(restarted, startup_timeout=30, shutdown_timeout=30):
        transport = httpx.ASGITransport(app=restarted)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as c:
            assert (await c.get("/readyz")).status_code == 200
        mirror = restarted.state.runtime.mirror
        assert mirror.state_error is None
        assert mirror.listings == app.state.runtime.mirror.listings


async def test_a_subject_unlisted_in_the_table_but_listed_by_the_chain_is_found(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    police = await make_caller(app, client, "C06", "police")
    assert (await client.post("/v1/flags", json=flag_body(), headers=police.headers)).is_success
    await tamper(
        app, f"UPDATE subject SET risk_level = 0, under_dispute = false WHERE key = '{KEY}'"
    )
    restarted = create_app(settings)
    async with LifespanManager(restarted, startup_timeout=30, shutdown_timeout=30):
        error = restarted.state.runtime.mirror.state_error
        assert error is not None and KEY in error


async def sealed_world(app: FastAPI, client: httpx.AsyncClient) -> tuple[Caller, list[str]]:
    police = await make_caller(app, client, "C06", "police")
    bank = await make_caller(app, client, "VCB", "bank")
    auditor = await make_caller(app, client, "AUD", "auditor")
    assert (await client.post("/v1/flags", json=flag_body(), headers=police.headers)).is_success
    ids = [(await lookup(client, bank, ACCOUNT))["warning_id"] for _ in range(5)]
    assert all(ids)
    assert await seal_warnings(app.state.runtime.db) == 5
    assert await seal_warnings(app.state.runtime.db) == 0  # nothing new
    ids.append((await lookup(client, bank, ACCOUNT))["warning_id"])
    assert await seal_warnings(app.state.runtime.db) == 1
    ids.append((await lookup(client, bank, ACCOUNT))["warning_id"])  # not sealed yet
    return auditor, ids


async def test_sealed_warnings_verify_and_unsealed_ones_are_counted(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    auditor, _ = await sealed_world(app, client)
    result = (await client.get("/v1/audit/verify", headers=auditor.headers)).json()
    assert result["ok"] and result["state_ok"], result
    assert result["unsealed_warnings"] == 1


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE warning SET risk_level = 1 WHERE id = '{id}'",
        "UPDATE warning SET action = 'allow' WHERE id = '{id}'",
        "UPDATE warning SET organisation_id = organisation_id + 1 WHERE id = '{id}'",
        "DELETE FROM warning WHERE id = '{id}'",
        "INSERT INTO warning (id, organisation_id, subject_key, risk_level, action,"
        " registry_version, created_at) SELECT 'forged', organisation_id, subject_key,"
        " risk_level, action, registry_version, created_at FROM warning WHERE id = '{id}'",
    ],
)
async def test_an_edited_sealed_warning_is_found(
    app: FastAPI, client: httpx.AsyncClient, statement: str
) -> None:
    auditor, ids = await sealed_world(app, client)
    await tamper(app, statement.format(id=ids[2]))
    result = (await client.get("/v1/audit/verify", headers=auditor.headers)).json()
    assert result["ok"] is False and result["state_ok"] is False
    mismatch = result["first_state_mismatch"]
    assert mismatch["entity_type"] == "warning_seal" and mismatch["entity_id"] == "1"
    assert mismatch["seq"] is not None


async def test_an_unsealed_warning_edit_is_not_an_error(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    auditor, ids = await sealed_world(app, client)
    await tamper(app, f"UPDATE warning SET risk_level = 1 WHERE id = '{ids[-1]}'")
    result = (await client.get("/v1/audit/verify", headers=auditor.headers)).json()
    assert result["ok"] and result["unsealed_warnings"] == 1


async def test_seals_wait_for_the_lag(app: FastAPI, client: httpx.AsyncClient) -> None:
    police = await make_caller(app, client, "C06", "police")
    bank = await make_caller(app, client, "VCB", "bank")
    assert (await client.post("/v1/flags", json=flag_body(), headers=police.headers)).is_success
    await lookup(client, bank, ACCOUNT)
    assert await seal_warnings(app.state.runtime.db, lag_seconds=3600) == 0
    async with app.state.runtime.db.read_session() as session:
        result = await verify_chain(session)
    assert result.ok and result.unsealed_warnings == 1


def test_models_used_here_are_the_state_tables() -> None:
    """The tables this test tampers with are the ones app.audit.state checks."""
    from app.audit.state import TABLES

    checked = {t.id_column.class_ for t in TABLES}
    assert {Subject, Flag, Dispute, RecoveryEntry, Warning, Client} <= checked


async def test_the_server_seals_warnings_in_the_background(settings: Settings) -> None:
    fast = settings.model_copy(
        update={"warning_seal_interval_seconds": 0.05, "warning_seal_lag_seconds": 0.0}
    )
    served = create_app(fast)
    async with LifespanManager(served, startup_timeout=30, shutdown_timeout=30):
        transport = httpx.ASGITransport(app=served)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as c:
            police = await make_caller(served, c, "C06", "police")
            bank = await make_caller(served, c, "VCB", "bank")
            assert (await c.post("/v1/flags", json=flag_body(), headers=police.headers)).is_success
            assert (await lookup(c, bank, ACCOUNT))["warning_id"]
            db = served.state.runtime.db
            for _ in range(100):
                async with db.read_session() as session:
                    result = await verify_chain(session)
                if result.unsealed_warnings == 0:
                    break
                await asyncio.sleep(0.05)
            assert result.ok and result.unsealed_warnings == 0
            async with db.read_session() as session:
                stmt = select(ChangeEvent.state).where(ChangeEvent.entity_type == "warning_seal")
                seals = (await session.execute(stmt)).scalars().all()
            assert [s["count"] for s in seals] == [1]


async def test_a_flag_edited_behind_the_chain_stops_lookups_and_writes_soon_after_start(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    """The lookup index is intact (it follows the chain), but the next honest change to
    the subject would re-derive it from the forged flag and chain it: the background state
    check after start refuses lookups and writes until an operator restores the rows."""
    police = await make_caller(app, client, "C06", "police")
    bank = await make_caller(app, client, "VCB", "bank")
    flag = (await client.post("/v1/flags", json=flag_body(), headers=police.headers)).json()
    await tamper(app, f"UPDATE flag SET status = 'withdrawn' WHERE id = '{flag['id']}'")
    restarted = create_app(settings)
    async with LifespanManager(restarted, startup_timeout=30, shutdown_timeout=30):
        transport = httpx.ASGITransport(app=restarted)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as c:
            for _ in range(100):
                ready = await c.get("/readyz")
                if ready.status_code == 503:
                    break
                await asyncio.sleep(0.05)
            assert ready.status_code == 503 and flag["id"] in ready.json()["detail"]
            token = await c.post(
                "/v1/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": bank.client_id,
                    "client_secret": bank.secret,
                },
            )
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            assert (await c.post("/v1/lookup", json=ACCOUNT, headers=headers)).status_code == 503
            write = await c.post("/v1/flags", json=flag_body(), headers=headers)
            assert write.status_code == 503 and "audit chain" in write.json()["detail"]


async def test_expiry_pauses_while_the_state_disagrees_with_the_chain(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.flags import expiry

    runtime = app.state.runtime
    calls: list[int] = []

    async def counted(*_: object, **__: object) -> int:
        calls.append(1)
        return 0

    monkeypatch.setattr(expiry, "expire_due_flags", counted)
    monkeypatch.setattr(
        runtime, "settings", runtime.settings.model_copy(update={"expiry_interval_seconds": 0.01})
    )
    runtime.mirror.state_error = "flag x disagrees with the chain"
    task = asyncio.create_task(expiry.run_expiry(runtime))
    await asyncio.sleep(0.2)
    assert calls == []
    runtime.mirror.state_error = None
    await asyncio.sleep(0.2)
    task.cancel()
    assert calls
