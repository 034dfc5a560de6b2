"""Signing keys in the database (SPEC §8 "Signing keys"): sealing, scheduled rotation,
the lifetime and retirement checks, and a process following a rotation it did not make."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from jose import jwt
from sqlalchemy import select

from app.audit.vocabulary import Action, EntityType
from app.auth.actor import Actor
from app.auth.key_store import KeyFollower, load_signing_keys, rotate_signing_key
from app.auth.keys import KeyRecord, KeySeal, SigningKeys, WeakKey, jwk_thumbprint
from app.auth.tokens import InvalidToken, issue_token, verify_token
from app.db.unit_of_work import unit_of_work
from app.models import ChangeEvent, SigningKey

ISS = "urn:test:issuer"
AUD = "urn:test:api"


def p256() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def record(key: ec.EllipticCurvePrivateKey, active_from: int, retired_at: int | None) -> KeyRecord:
    return KeyRecord(
        kid=jwk_thumbprint(key.public_key()),
        public_key=key.public_key(),
        private_key=key,
        active_from=active_from,
        retired_at=retired_at,
    )


def sign(keys: SigningKeys, *, iat: int, ttl: int = 900) -> str:
    token, _ = issue_token(
        keys,
        client_id="c",
        org="VCB",
        scopes=["lookup"],
        issuer=ISS,
        audience=AUD,
        ttl_seconds=ttl,
        now=iat,
    )
    return token


def check(keys: SigningKeys, token: str, now: int, max_lifetime: int | None = 900) -> str | None:
    try:
        verify_token(keys, token, issuer=ISS, audience=AUD, now=now, max_lifetime=max_lifetime)
    except InvalidToken as exc:
        return exc.reason
    return None


def kid_of(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


# ---------------------------------------------------------------- pure key sets


def test_signer_switches_at_activation_and_old_key_retires_then() -> None:
    old, new = p256(), p256()
    switch = 1_700_000_000
    keys = SigningKeys.from_records([record(old, 0, switch), record(new, switch, None)])
    before, after = sign(keys, iat=switch - 1), sign(keys, iat=switch)
    assert kid_of(before) == jwk_thumbprint(old.public_key())
    assert kid_of(after) == jwk_thumbprint(new.public_key())
    assert {j["kid"] for j in keys.jwks()["keys"]} == {kid_of(before), kid_of(after)}
    # A token the old key signed before its retirement works until it expires.
    assert check(keys, before, now=switch + 800) is None
    assert check(keys, before, now=switch + 1000) == "token expired"


def test_token_signed_by_a_key_after_its_retirement_is_refused() -> None:
    old, new = p256(), p256()
    retired = 1_700_000_000
    keys = SigningKeys.from_records([record(old, 0, retired), record(new, retired, None)])
    only_old = SigningKeys(old)  # whoever still holds the old private key
    late = sign(only_old, iat=retired + 60)
    assert check(keys, late, now=retired + 61) == "token issued after its key was retired"
    # A few seconds of clock skew between hosts are tolerated.
    assert check(keys, sign(only_old, iat=retired + 3), now=retired + 4) is None


def test_token_living_longer_than_the_ttl_is_refused() -> None:
    keys = SigningKeys(p256())
    now = 1_700_000_000
    long_lived = sign(keys, iat=now, ttl=86_400)
    assert check(keys, long_lived, now=now + 1) == "token lifetime exceeds the configured TTL"
    assert check(keys, long_lived, now=now + 1, max_lifetime=None) is None
    assert check(keys, sign(keys, iat=now, ttl=900), now=now + 1) is None


def test_from_records_needs_a_key_that_can_sign() -> None:
    key = p256()
    verify_only = KeyRecord(jwk_thumbprint(key.public_key()), key.public_key(), None, 0, 5)
    with pytest.raises(WeakKey):
        SigningKeys.from_records([verify_only])


def test_seal_round_trip_and_refusals(tmp_path: Path) -> None:
    seal, other = KeySeal(p256()), KeySeal(p256())
    key = p256()
    kid = jwk_thumbprint(key.public_key())
    sealed = seal.seal(kid, key)
    assert "PRIVATE" not in sealed
    assert jwk_thumbprint(seal.open(kid, sealed).public_key()) == kid
    with pytest.raises(WeakKey, match="same key file"):
        other.open(kid, sealed)  # another key file cannot open it
    with pytest.raises(WeakKey):
        seal.open("another-kid", sealed)  # the kid is bound as associated data
    with pytest.raises(WeakKey):
        seal.open(kid, sealed[:-4] + "AAAA")


# ---------------------------------------------------------------- in the database


async def test_first_start_adopts_the_key_file(app: FastAPI, key_file: Path) -> None:
    runtime = app.state.runtime
    assert runtime.keys.kid == SigningKeys.load_or_create(key_file).kid
    async with runtime.db.read_session() as session:
        rows = (await session.execute(select(SigningKey))).scalars().all()
    assert [row.kid for row in rows] == [runtime.keys.kid]
    assert "PRIVATE" not in rows[0].private_key and rows[0].retired_at is None
    # Loading again (another process) adopts nothing more.
    again = await load_signing_keys(runtime.db, key_file)
    assert again.kid == runtime.keys.kid


async def test_rotation_is_chained_and_followed(app: FastAPI, key_file: Path) -> None:
    runtime = app.state.runtime
    old_kid = runtime.keys.kid
    seen: list[SigningKeys] = []
    follower = KeyFollower(runtime.db, key_file, 0.1, seen.append)
    assert await follower.poll() is True and not await follower.poll()
    async with unit_of_work(runtime.db, Actor.command_line()) as uow:
        new, retired = await rotate_signing_key(uow, key_file, publish_delay=1.0)
    assert [row.kid for row in retired] == [old_kid] and new.kid != old_kid
    assert retired[0].retired_at == new.active_from
    assert await follower.poll() is True
    keys = seen[-1]
    assert {j["kid"] for j in keys.jwks()["keys"]} == {old_kid, new.kid}
    # Published ahead of its activation: the old key signs until the switch, then the new.
    switch = int(new.active_from.timestamp())
    assert kid_of(sign(keys, iat=switch - 1)) == old_kid
    assert kid_of(sign(keys, iat=switch)) == new.kid
    assert keys.retired_at(old_kid) == switch
    async with runtime.db.read_session() as session:
        events = (
            (
                await session.execute(
                    select(ChangeEvent).where(ChangeEvent.entity_type == EntityType.SIGNING_KEY)
                )
            )
            .scalars()
            .all()
        )
    assert [(e.entity_id, e.action) for e in events] == [
        (old_kid, Action.RETIRED),
        (new.kid, Action.CREATED),
    ]
    assert all("private" not in str(e.state).lower() for e in events)


async def test_running_app_follows_a_rotation(app: FastAPI, key_file: Path) -> None:
    runtime = app.state.runtime
    old_kid = runtime.keys.kid
    async with unit_of_work(runtime.db, Actor.command_line()) as uow:
        new, _ = await rotate_signing_key(uow, key_file, publish_delay=0)
    deadline = time.monotonic() + 5
    while runtime.keys.kid != new.kid and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert runtime.keys.kid == new.kid
    assert runtime.keys.retired_at(old_kid) is not None
