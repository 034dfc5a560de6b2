"""The audit chain: tampering is found at the first bad seq; checkpoints catch rewrites."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.chain import canonical_bytes, chain_hash
from app.audit.checkpoint import check_checkpoint, configured_public_keys, make_checkpoint
from app.audit.verify import verify_chain
from app.models import ChangeEvent
from tests import databases
from tests.factories import make_caller
from tests.registry.test_flags_and_lookup import flag_body

N_FLAGS = 6


async def build_history(app: FastAPI, client: httpx.AsyncClient) -> int:
    bank = await make_caller(app, client, "VCB", "bank")
    for i in range(N_FLAGS):
        subject = {"kind": "bank_account", "institution": "VCB", "identifier": f"7770{i}123"}
        assert (
            await client.post("/v1/flags", json=flag_body(subject), headers=bank.headers)
        ).status_code == 201
    async with app.state.runtime.db.read_session() as session:
        result = await verify_chain(session)
    assert result.ok and result.first_bad_seq is None
    return result.head_seq


async def tamper(app: FastAPI, *statements: str) -> None:
    """Edit the table as an attacker with database access would: triggers off first."""
    async with app.state.runtime.db.write_session() as session:
        if databases.ENGINE == "postgresql":
            await session.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            await session.execute(text("DROP TRIGGER IF EXISTS change_event_no_update"))
            await session.execute(text("DROP TRIGGER IF EXISTS change_event_no_delete"))
        for statement in statements:
            await session.execute(text(statement))
        await session.commit()


async def verify(app: FastAPI) -> tuple[bool, int | None]:
    async with app.state.runtime.db.read_session() as session:
        result = await verify_chain(session)
    return result.ok, result.first_bad_seq


async def test_events_are_append_only_in_the_database(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await build_history(app, client)
    for statement in (
        "UPDATE change_event SET action = 'x' WHERE seq = 2",
        "DELETE FROM change_event WHERE seq = 2",
    ):
        async with app.state.runtime.db.write_session() as session:
            with pytest.raises(Exception, match="append-only"):
                await session.execute(text(statement))
            await session.rollback()


EDIT = "UPDATE change_event SET request_id = 'forged' WHERE seq = 5"
DELETE = "DELETE FROM change_event WHERE seq = 5"
SWAP = (
    "UPDATE change_event SET seq = -5 WHERE seq = 5",
    "UPDATE change_event SET seq = 5 WHERE seq = 6",
    "UPDATE change_event SET seq = 6 WHERE seq = -5",
)


@pytest.mark.parametrize(
    ("statements", "first_bad"),
    [
        ((EDIT,), 5),
        ((DELETE,), 5),
        (SWAP, 5),
        (('UPDATE change_event SET state = \'{"status": "withdrawn"}\' WHERE seq = 7',), 7),
        (("UPDATE change_event SET hash = prev_hash WHERE seq = 3",), 3),
    ],
)
async def test_tampering_is_found_at_the_first_bad_seq(
    app: FastAPI, client: httpx.AsyncClient, statements: tuple[str, ...], first_bad: int
) -> None:
    await build_history(app, client)
    await tamper(app, *statements)
    assert await verify(app) == (False, first_bad)


async def test_truncated_tail_is_found(app: FastAPI, client: httpx.AsyncClient) -> None:
    head = await build_history(app, client)
    await tamper(app, f"DELETE FROM change_event WHERE seq >= {head - 1}")
    assert await verify(app) == (False, head - 1)


async def test_inserted_event_is_found(app: FastAPI, client: httpx.AsyncClient) -> None:
    """A forged event with a correct hash is slipped in at seq 5; the old 5 no longer fits."""
    head = await build_history(app, client)
    await tamper(
        app,
        "UPDATE change_event SET seq = seq + 1000 WHERE seq >= 5",
        "UPDATE change_event SET seq = seq - 999 WHERE seq >= 1000",
    )
    async with app.state.runtime.db.read_session() as session:
        prev = (await session.execute(select(ChangeEvent).where(ChangeEvent.seq == 4))).scalar_one()
        forged = {
            "seq": 5,
            "occurred_at": prev.occurred_at,
            "entity_type": "flag",
            "entity_id": "forged",
            "entity_version": 1,
            "action": "withdrawn",
            "actor_org": "VCB",
            "actor_client": None,
            "token_jti": None,
            "request_id": None,
            "subject_key": None,
            "state": {},
        }
        digest = chain_hash(prev.hash, forged)
    async with app.state.runtime.db.write_session() as session:
        session.add(ChangeEvent(**forged, prev_hash=prev.hash, hash=digest))
        await session.execute(text(f"UPDATE registry_head SET seq = {head + 1}"))
        await session.commit()
    assert await verify(app) == (False, 6)


async def rewrite_whole_chain(session: AsyncSession) -> None:
    """The strongest attack: change history, recompute every hash, move the head."""
    events = (await session.execute(select(ChangeEvent).order_by(ChangeEvent.seq))).scalars().all()
    prev = "0" * 64
    for event in events:
        if event.seq == 2:
            event.request_id = "rewritten"
        fields = {
            name: getattr(event, name)
            for name in (
                "seq",
                "occurred_at",
                "entity_type",
                "entity_id",
                "entity_version",
                "action",
                "actor_org",
                "actor_client",
                "token_jti",
                "request_id",
                "subject_key",
                "state",
            )
        }
        event.prev_hash = prev
        event.hash = prev = chain_hash(prev, fields)
    await session.execute(text(f"UPDATE registry_head SET hash = '{prev}'"))


async def test_consistent_rewrite_passes_the_chain_but_not_a_checkpoint(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    await build_history(app, client)
    key_file = tmp_path / "checkpoint.pem"
    db = app.state.runtime.db
    async with db.read_session() as session:
        signed = await make_checkpoint(session, key_file)
        keys = configured_public_keys(key_file)
        assert (await check_checkpoint(session, signed, keys)).ok
    await tamper(app)  # SQLite: triggers dropped
    async with db.write_session() as session:
        if databases.ENGINE == "postgresql":
            await session.execute(text("SET LOCAL session_replication_role = replica"))
        await rewrite_whole_chain(session)
        await session.commit()
    assert await verify(app) == (True, None)
    async with db.read_session() as session:
        check = await check_checkpoint(session, signed, keys)
        assert (check.ok, check.seq, check.status) == (False, signed.head_seq, "rewritten")
        sig = signed.signature
        forged = dataclasses.replace(
            signed, signature=sig[:-4] + ("AAAA" if not sig.endswith("AAAA") else "BBBB")
        )
        assert (await check_checkpoint(session, forged, keys)).status == "bad-signature"


def test_canonical_encoding_ignores_order_whitespace_and_escapes() -> None:
    import json

    event = {"seq": 1, "state": {"b": "Đức", "a": [1, 2]}, "action": "x"}
    reparsed = json.loads(json.dumps(event, ensure_ascii=True, indent=3))
    reordered = dict(reversed(list(reparsed.items())))
    assert canonical_bytes(reordered) == canonical_bytes(event)
    assert chain_hash("0" * 64, reordered) == chain_hash("0" * 64, event)
    decomposed = {**event, "state": {"b": "Đu\u031b\u0301c", "a": [1, 2]}}
    assert canonical_bytes(decomposed) == canonical_bytes(event)
    assert chain_hash("0" * 64, {**event, "action": "y"}) != chain_hash("0" * 64, event)


async def test_verify_over_http_and_events_page(app: FastAPI, client: httpx.AsyncClient) -> None:
    head = await build_history(app, client)
    auditor = await make_caller(app, client, "AUD", "auditor")
    result = (await client.get("/v1/audit/verify", headers=auditor.headers)).json()
    assert result["ok"] and result["checked"] == result["head_seq"] >= head
    page = (
        await client.get(
            "/v1/audit/events", params={"after": 0, "limit": 3}, headers=auditor.headers
        )
    ).json()
    assert [e["seq"] for e in page["items"]] == [1, 2, 3]
    assert page["items"][1]["prev_hash"] == page["items"][0]["hash"]
    bank = await make_caller(app, client, "ACB", "bank", "ACB")
    assert (await client.get("/v1/audit/verify", headers=bank.headers)).status_code == 403
    await tamper(app, EDIT)
    bad = (await client.get("/v1/audit/verify", headers=auditor.headers)).json()
    assert (bad["ok"], bad["first_bad_seq"]) == (False, 5)


async def test_hundred_concurrent_writers_leave_one_linear_chain(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    callers = [await make_caller(app, client, f"B{i}", "bank") for i in range(4)]

    async def write(i: int) -> int:
        subject = {"kind": "bank_account", "institution": "VCB", "identifier": f"88{i:06d}"}
        response = await client.post(
            "/v1/flags", json=flag_body(subject), headers=callers[i % 4].headers
        )
        return response.status_code

    statuses = await asyncio.gather(*(write(i) for i in range(100)))
    assert statuses == [201] * 100
    assert await verify(app) == (True, None)


async def test_a_write_during_verification_is_no_false_alarm(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The verifier reads the head, then the chain: a flag committed between the two reads
    must not look like a chain longer than its head (it stopped a healthy server on PG)."""
    await build_history(app, client)
    bank = await make_caller(app, client, "BIDV", "bank")
    original = AsyncSession.execute
    written = False

    async def execute_then_write(self: AsyncSession, *args: object, **kwargs: object) -> object:
        nonlocal written
        result = await original(self, *args, **kwargs)  # type: ignore[arg-type]
        if not written:  # right after the verifier's first read: the head
            written = True
            subject = {"kind": "bank_account", "institution": "BIDV", "identifier": "88812345"}
            response = await client.post("/v1/flags", json=flag_body(subject), headers=bank.headers)
            assert response.status_code == 201
        return result

    async with app.state.runtime.db.read_session() as session:
        monkeypatch.setattr(AsyncSession, "execute", execute_then_write)
        try:
            result = await verify_chain(session)
        finally:
            monkeypatch.setattr(AsyncSession, "execute", original)
    assert written
    assert result.ok, result.reason
