"""`registry key rotate` against two running `registry serve` processes on one database
(SPEC §8 "Signing keys"): both sign with the new kid within seconds, accept each other's
tokens, list both keys; long-lived and after-retirement tokens are refused."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from jose import jwt

from app.auth.keys import SigningKeys, read_private_key
from tests.blackbox.server import Server, server_env

ISS = "urn:vn-fraud-registry"
AUD = "urn:vn-fraud-registry:api"
SUBJECT = {"kind": "bank_account", "institution": "970436", "identifier": "012345678901"}


@pytest.fixture
def servers(database_url: str, key_file: Path, tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    env = server_env(database_url, key_file, REGISTRY_SHUTDOWN_DRAIN_SECONDS="1")
    first, second = Server(dict(env)), Server(dict(env))
    try:
        first.start(tmp_path)
        second.start(tmp_path)
        yield first, second
    finally:
        first.stop()
        second.stop()


def token(srv: Server, client: dict[str, str]) -> str:
    answer = httpx.post(
        f"{srv.url}/v1/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
        },
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    value: str = answer.json()["access_token"]
    return value


def kid(value: str) -> str:
    return str(jwt.get_unverified_header(value)["kid"])


def lookup(srv: Server, value: str) -> int:
    answer = httpx.post(
        f"{srv.url}/v1/lookup",
        json=SUBJECT,
        headers={"Authorization": f"Bearer {value}"},
        timeout=10,
    )
    return answer.status_code


def jwks_kids(srv: Server) -> set[str]:
    return {key["kid"] for key in httpx.get(f"{srv.url}/.well-known/jwks.json").json()["keys"]}


def forged(key_file: Path, client: dict[str, str], *, iat: int, ttl: int) -> str:
    """A token signed with the key file's (first, now retired) private key."""
    claims: dict[str, Any] = {
        "iss": ISS,
        "aud": AUD,
        "sub": client["client_id"],
        "org": "VCB",
        "scope": "lookup",
        "jti": uuid.uuid4().hex,
        "iat": iat,
        "nbf": iat,
        "exp": iat + ttl,
    }
    return SigningKeys(read_private_key(key_file)).sign(claims, now=iat)


def test_rotation_reaches_every_running_server(
    servers: tuple[Server, Server], key_file: Path
) -> None:
    first, second = servers
    org = ["--code", "VCB", "--name", "VCB", "--kind", "bank", "--institution", "970436"]
    first.cli("org", "create", *org)
    client = first.cli("client", "create", "--org", "VCB", "--scopes", "lookup")
    time.sleep(1.0)  # the second process follows the new client through the change feed
    before_first, before_second = token(first, client), token(second, client)
    old_kid = kid(before_first)
    assert kid(before_second) == old_kid
    assert jwks_kids(first) == jwks_kids(second) == {old_kid}

    rotated = first.cli("key", "rotate")
    rotated_at = time.monotonic()
    new_kid = rotated["kid"]
    assert rotated["retired"] == [old_kid] and new_kid != old_kid
    retired_at = int(datetime.fromisoformat(rotated["signs_from"]).timestamp())

    pending = {first.port, second.port}
    while pending and time.monotonic() - rotated_at < 5:
        for srv in (first, second):
            if srv.port in pending and kid(token(srv, client)) == new_kid:
                pending.discard(srv.port)
        time.sleep(0.2)
    assert not pending, "a server still signs with the retired key 5 s after the rotation"

    # Each accepts the other's new tokens, and the tokens signed before the rotation.
    from_first, from_second = token(first, client), token(second, client)
    assert kid(from_first) == kid(from_second) == new_kid
    for srv in (first, second):
        assert jwks_kids(srv) == {old_kid, new_kid}
        for value in (from_first, from_second, before_first, before_second):
            assert lookup(srv, value) == 200

    # The old private key (the key file's) still verifies what it signed before retiring ...
    assert lookup(second, forged(key_file, client, iat=retired_at - 5, ttl=900)) == 200
    for srv in (first, second):
        # ... but not a 24-hour token, even one dated before the rotation ...
        assert lookup(srv, forged(key_file, client, iat=retired_at - 5, ttl=86_400)) == 401
        # ... nor anything it signs after its retirement.
        assert lookup(srv, forged(key_file, client, iat=retired_at + 10, ttl=900)) == 401
