"""Malformed and forged bearer tokens against ``POST /v1/lookup``.

Each case is sent twice: with a valid subject (served by the ASGI fast path in
``app/subjects/fast_lookup.py``) and with ``{}`` (handed on to the FastAPI route), so both
authentication code paths are covered. Every case must be a 401 problem+json with
``WWW-Authenticate: Bearer error="invalid_token"``, never a 5xx; a huge header may instead be
refused as 431/413. Each test first proves the untouched token works, so none passes
vacuously.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from fastapi import FastAPI

from app.auth.actor import Actor
from app.auth.keys import jwk_thumbprint
from app.db.unit_of_work import unit_of_work
from app.organisations.service import deactivate_organisation, revoke_client
from tests.factories import Caller, make_caller
from tests.security.support import (
    ACCOUNT,
    INSUFFICIENT_SCOPE,
    INVALID_TOKEN,
    b64url,
    decode_claims,
    load_private_key,
    problem_issues,
    public_pem,
    sign_es256,
    sign_hs256,
    unsigned,
)

URL = "/v1/lookup"
BODIES: dict[str, Any] = {"fast path": ACCOUNT, "framework path": {}}
# What a request that got past authentication answers on each path.
AUTHENTICATED = {"fast path": 200, "framework path": 422}
Header = str | bytes | None


@dataclass
class Forge:
    """Signs tokens like the app does, with any header, claims or key."""

    key: ec.EllipticCurvePrivateKey
    kid: str
    header: dict[str, Any]
    claims: dict[str, Any]

    def token(
        self,
        key: ec.EllipticCurvePrivateKey | None = None,
        header: dict[str, Any] | None = None,
        drop: tuple[str, ...] = (),
        **claims: Any,
    ) -> str:
        payload = {**self.claims, **claims}
        for name in drop:
            payload.pop(name, None)
        return sign_es256(key or self.key, {**self.header, **(header or {})}, payload)

    def raw(self, payload: bytes, header: dict[str, Any] | None = None) -> str:
        return sign_es256(self.key, {**self.header, **(header or {})}, payload)


async def forge_for(app: FastAPI, key_file: Path, caller: Caller) -> Forge:
    header, claims = decode_claims(caller.token)
    assert app.state.runtime.keys.kid == header["kid"]
    return Forge(load_private_key(key_file), header["kid"], header, claims)


async def call(client: httpx.AsyncClient, authorization: Header, body: Any) -> httpx.Response:
    headers: list[tuple[bytes, bytes]] = [(b"content-type", b"application/json")]
    if authorization is not None:
        value = authorization if isinstance(authorization, bytes) else authorization.encode()
        headers.append((b"authorization", value))
    return await client.post(URL, content=json.dumps(body).encode(), headers=headers)


async def assert_authenticates(client: httpx.AsyncClient, authorization: Header) -> None:
    for path, body in BODIES.items():
        response = await call(client, authorization, body)
        assert response.status_code == AUTHENTICATED[path], (path, response.text)


async def rejections(client: httpx.AsyncClient, cases: dict[str, Header]) -> list[str]:
    failures = []
    for name, authorization in cases.items():
        for path, body in BODIES.items():
            response = await call(client, authorization, body)
            for issue in problem_issues(response, 401, INVALID_TOKEN):
                failures.append(f"{name} [{path}]: {issue}")
    return failures


def _other_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _rs256(header: dict[str, Any], claims: dict[str, Any]) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    first = b64url(json.dumps({**header, "alg": "RS256"}).encode())
    signing_input = f"{first}.{b64url(json.dumps(claims).encode())}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url(signature)}"


def header_cases(token: str) -> dict[str, Header]:
    return {
        "no Authorization header": None,
        "empty header": "",
        "scheme only": "Bearer",
        "scheme and a space": "Bearer ",
        # RFC 9110 allows 1*SP here; the registry parses strictly (one space), as asked.
        "two spaces": f"Bearer  {token}",
        "tab instead of space": f"Bearer\t{token}",
        "wrong scheme Token": f"Token {token}",
        "HTTP Basic": "Basic " + base64.b64encode(b"cli_x:secret").decode(),
        "lowercase scheme, bad token": "bearer not-a-token",
        "token then junk": f"Bearer {token} junk",
        "two tokens, comma": f"Bearer {token}, Bearer {token}",
        "garbage": "Bearer garbage",
        "three empty segments": "Bearer ..",
        "four segments": f"Bearer {token}.",
        "segments a.b.c": "Bearer a.b.c",
        "base64 padding added": f"Bearer {token}==",
        "non-ASCII bytes": b"Bearer \xff\xfe\xfd",
        "UTF-8 letters": "Bearer токен".encode(),
        "non-ASCII inside the token": f"Bearer {token[:20]}é{token[21:]}".encode("latin-1"),
        "5 KB token": "Bearer " + "A" * 5000,
    }


def forged_cases(forge: Forge, token: str) -> dict[str, Header]:
    now = int(time.time())
    claims = forge.claims
    head, body, signature = token.split(".")
    tampered = json.dumps({**claims, "scope": claims["scope"] + " admin"}).encode()
    attacker = _other_key()
    attacker_jwk = {
        **json.loads(json.dumps(app_public_jwk(attacker))),
        "kid": jwk_thumbprint(attacker.public_key()),
    }
    pem = public_pem(forge.key)
    none_header = {"alg": "none", "kid": forge.kid, "typ": "JWT"}
    cases: dict[str, str] = {
        "signature stripped": f"{head}.{body}.",
        "signature of another token": f"{head}.{body}.{b64url(b'x' * 64)}",
        "payload tampered (scope + admin)": f"{head}.{b64url(tampered)}.{signature}",
        "other key, same kid": forge.token(key=attacker),
        "other key, its own kid": forge.token(
            key=attacker, header={"kid": jwk_thumbprint(attacker.public_key())}
        ),
        "alg none": unsigned(none_header, claims),
        "alg None": unsigned({**none_header, "alg": "None"}, claims),
        "alg NONE with signature": unsigned({**none_header, "alg": "NONE"}, claims) + "AAAA",
        "alg missing": forge.token(header={"alg": None}),
        "HS256 keyed with the public PEM": sign_hs256(
            pem, {"alg": "HS256", "kid": forge.kid, "typ": "JWT"}, claims
        ),
        "HS256 keyed with the PEM, no newline": sign_hs256(
            pem.strip(), {"alg": "HS256", "kid": forge.kid, "typ": "JWT"}, claims
        ),
        "RS256 from an attacker key": _rs256(forge.header, claims),
        "embedded attacker jwk": forge.token(
            key=attacker, header={"jwk": attacker_jwk, "kid": attacker_jwk["kid"]}
        ),
        "jku to attacker (real key)": forge.token(header={"jku": "https://evil.example/jwks"}),
        "x5u to attacker (real key)": forge.token(header={"x5u": "https://evil.example/x5"}),
        "crit header (real key)": forge.token(header={"crit": ["exp"], "exp": 1}),
        "kid path traversal": forge.token(header={"kid": "../../../../dev/null"}),
        "kid empty": forge.token(header={"kid": ""}),
        "kid number": forge.token(header={"kid": 1}),
        "kid missing": sign_es256(forge.key, {"alg": "ES256", "typ": "JWT"}, claims),
        "expired an hour ago": forge.token(iat=now - 7200, nbf=now - 7200, exp=now - 3600),
        "expired beyond the leeway": forge.token(exp=now - 120),
        "issued in the future": forge.token(iat=now + 3600, nbf=now, exp=now + 7200),
        "not valid before later": forge.token(nbf=now + 3600),
        "wrong aud": forge.token(aud="urn:someone-else"),
        "aud list without ours": forge.token(aud=["urn:someone-else"]),
        "aud list with a non-string": forge.token(aud=[claims["aud"], 1]),
        "aud missing": forge.token(drop=("aud",)),
        "wrong iss": forge.token(iss="urn:evil"),
        "iss missing": forge.token(drop=("iss",)),
        "exp missing": forge.token(drop=("exp",)),
        "exp as string": forge.token(exp=str(claims["exp"])),
        "exp as float": forge.token(exp=claims["exp"] + 0.5),
        "exp true": forge.token(exp=True),
        "exp 1e400": forge.raw(
            json.dumps({**claims, "exp": 0}).replace('"exp":0', '"exp":1e400').encode()
        ),
        "exp NaN": forge.raw(
            json.dumps({**claims, "exp": 0}).replace('"exp":0', '"exp":NaN').encode()
        ),
        "sub unknown": forge.token(sub="cli_000000000000000000000000"),
        "sub empty": forge.token(sub=""),
        "sub missing": forge.token(drop=("sub",)),
        "org missing": forge.token(drop=("org",)),
        "jti missing": forge.token(drop=("jti",)),
        "scope not a string": forge.token(scope=["lookup"]),
        "scope with a tab": forge.token(scope="lookup\tsync"),
        "duplicate sub member": forge.raw(
            json.dumps(claims)[:-1].encode() + b',"sub":"cli_000000000000000000000000"}'
        ),
        "payload a JSON array": forge.raw(b"[1,2,3]"),
        "payload not JSON": forge.raw(b"\x80not json"),
        # Deep enough to hurt a recursive parser, small enough to stay under the token limit.
        "payload deeply nested": forge.raw(b'{"a":' * 400 + b"1" + b"}" * 400),
    }
    return {name: f"Bearer {value}" for name, value in cases.items()}


def app_public_jwk(key: ec.EllipticCurvePrivateKey) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url(numbers.x.to_bytes(32, "big")),
        "y": b64url(numbers.y.to_bytes(32, "big")),
    }


async def test_malformed_authorization_headers_are_401(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    caller = await make_caller(app, client, "VCB", "bank")
    await assert_authenticates(client, f"Bearer {caller.token}")
    failures = await rejections(client, header_cases(caller.token))
    assert not failures, f"{len(failures)} case(s):\n" + "\n".join(failures)


async def test_forged_tokens_are_401(
    app: FastAPI, client: httpx.AsyncClient, key_file: Path
) -> None:
    caller = await make_caller(app, client, "VCB", "bank")
    forge = await forge_for(app, key_file, caller)
    # The forge itself is sound: an untouched re-signing of the claims is accepted.
    await assert_authenticates(client, f"Bearer {forge.token()}")
    failures = await rejections(client, forged_cases(forge, caller.token))
    assert not failures, f"{len(failures)} case(s):\n" + "\n".join(failures)


async def test_authorization_scheme_is_case_insensitive(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """RFC 9110 §11.1: the auth-scheme is case-insensitive, so `bearer <valid>` is accepted
    (a malformed token after a lowercase scheme is covered above and is a 401)."""
    caller = await make_caller(app, client, "VCB", "bank")
    for scheme in ("bearer", "BEARER"):
        await assert_authenticates(client, f"{scheme} {caller.token}")


async def test_huge_authorization_header_is_refused_without_a_server_error(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    caller = await make_caller(app, client, "VCB", "bank")
    await assert_authenticates(client, f"Bearer {caller.token}")
    for size in (20_000, 100_000):
        for path, body in BODIES.items():
            response = await call(client, "Bearer " + "A" * size, body)
            assert response.status_code in {401, 413, 431}, (size, path, response.text[:200])
            www = INVALID_TOKEN if response.status_code == 401 else None
            assert not problem_issues(response, response.status_code, www), (size, path)
    # A huge header did not disturb the next, normal request.
    await assert_authenticates(client, f"Bearer {caller.token}")


Mutation = Callable[[Any, Caller], Any]


async def _revoke(uow: Any, caller: Caller) -> Any:
    return await revoke_client(uow, caller.client_id)


async def _deactivate(uow: Any, caller: Caller) -> Any:
    return await deactivate_organisation(uow, caller.org)


async def test_token_of_a_revoked_client_or_deactivated_organisation_is_401(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    runtime = app.state.runtime
    for name, mutation in (("revoked client", _revoke), ("deactivated org", _deactivate)):
        caller = await make_caller(app, client, f"B{len(name)}", "bank")
        # Used once first, so the verified token sits in the token cache.
        await assert_authenticates(client, f"Bearer {caller.token}")
        async with unit_of_work(runtime.db, Actor.command_line()) as uow:
            await mutation(uow, caller)
        await runtime.mirror.refresh()
        failures = await rejections(client, {name: f"Bearer {caller.token}"})
        assert not failures, failures


async def test_org_claim_must_match_the_clients_organisation(
    app: FastAPI, client: httpx.AsyncClient, key_file: Path
) -> None:
    caller = await make_caller(app, client, "VCB", "bank")
    await make_caller(app, client, "ACB", "bank", "ACB")
    forge = await forge_for(app, key_file, caller)
    await assert_authenticates(client, f"Bearer {forge.token()}")
    cases: dict[str, Header] = {
        "org of another existing organisation": f"Bearer {forge.token(org='ACB')}",
        "org that does not exist": f"Bearer {forge.token(org='NOPE')}",
        "org differing in case": f"Bearer {forge.token(org='vcb')}",
    }
    failures = await rejections(client, cases)
    assert not failures, "\n".join(failures)


async def test_scopes_claimed_beyond_the_clients_grant_are_ignored(
    app: FastAPI, client: httpx.AsyncClient, key_file: Path
) -> None:
    """Even a correctly signed token only carries scopes its client still holds."""
    caller = await make_caller(app, client, "VCB", "bank", scopes="sync")
    forge = await forge_for(app, key_file, caller)
    token = forge.token(scope="admin lookup sync")
    for body in BODIES.values():
        response = await call(client, f"Bearer {token}", body)
        assert not problem_issues(response, 403, INSUFFICIENT_SCOPE), response.text
