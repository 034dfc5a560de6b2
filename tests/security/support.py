"""Shared helpers of the hostile-input security tests: the operation table read from the
app's own OpenAPI document, request builders, problem+json checks and JWS crafting."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from fastapi import FastAPI

from app.identifiers.vietqr import build_vietqr

PROBLEM_JSON = "application/problem+json"
INVALID_TOKEN = 'Bearer error="invalid_token"'
INSUFFICIENT_SCOPE = 'Bearer error="insufficient_scope"'

ACCOUNT = {"kind": "bank_account", "institution": "VCB", "identifier": "0011 0023-45678"}
KEY = "bank_account:970436:0011002345678"
# Syntactically valid for every `{..._id}` path parameter (36 chars of [0-9a-f-]), never issued.
MISSING_ID = "00000000-0000-4000-8000-00000000dead"
PERIOD = "2026-H1"
SCHEME = "OAuth2"

# Operations that are public by design (SPEC §6); anything else must declare a security
# requirement. /v1/typologies is in the contract but may not exist yet.
PUBLIC_OPERATIONS = frozenset(
    {
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("POST", "/v1/oauth/token"),
        ("GET", "/.well-known/jwks.json"),
        ("GET", "/v1/audit/checkpoint-keys"),
        ("GET", "/v1/typologies"),
        # The public portal's API (SPEC §13): citizens have no account.
        ("POST", "/v1/public/check"),
        ("POST", "/v1/public/reports"),
    }
)
# Operations behind a credential that is not an OAuth token: the Prometheus scrape takes
# REGISTRY_METRICS_TOKEN (tests/metrics hold it to 401 without that token).
NON_OAUTH_OPERATIONS = frozenset({("GET", "/metrics")})


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    # None: no security requirement (public); otherwise the OAuth2 scopes it accepts.
    scopes: frozenset[str] | None
    body_media_type: str | None

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def url(self) -> str:
        return fill_path(self.path)


def operations(app: FastAPI) -> list[Operation]:
    """Every operation of the app's OpenAPI document, with the scopes its security requires."""
    found = []
    for path, item in app.openapi()["paths"].items():
        for method, operation in item.items():
            if method.upper() not in {"GET", "POST", "PUT", "PATCH", "DELETE"}:
                continue
            security = operation.get("security")
            scopes: frozenset[str] | None = None
            if security and any(SCHEME in requirement for requirement in security):
                scopes = frozenset(
                    scope for requirement in security for scope in requirement.get(SCHEME, [])
                )
            content = operation.get("requestBody", {}).get("content", {})
            found.append(Operation(method.upper(), path, scopes, next(iter(content), None)))
    return found


def protected_operations(app: FastAPI) -> list[Operation]:
    return [op for op in operations(app) if op.scopes is not None]


def fill_path(path: str) -> str:
    """The path with every `{name}` replaced by a valid-looking value that names nothing."""
    out = path
    while "{" in out:
        start = out.index("{")
        end = out.index("}", start)
        name = out[start + 1 : end]
        if name == "key":
            value = quote(KEY, safe="")
        elif name == "period":
            value = PERIOD
        else:
            value = MISSING_ID
        out = out[:start] + value + out[end + 1 :]
    return out


def valid_bodies() -> dict[tuple[str, str], dict[str, Any]]:
    """Bodies that pass validation for the operations that take JSON (keyed by method, path)."""
    return {
        ("POST", "/v1/lookup"): ACCOUNT,
        ("POST", "/v1/lookup/batch"): {"items": [ACCOUNT]},
        ("POST", "/v1/lookup/vietqr"): {"payload": build_vietqr("970436", "0011002345678")},
        ("POST", "/v1/flags"): {
            "subject": ACCOUNT,
            "category": "IMPERSONATE_AUTHORITY",
            "description": "called the victim",
        },
        ("POST", "/v1/disputes"): {"subject": ACCOUNT, "reason": "the holder denies it"},
        ("POST", "/v1/recoveries"): {"subject": ACCOUNT, "action": "freeze", "amount_vnd": 1000},
        ("POST", "/v1/warnings/{warning_id}/outcome"): {"outcome": "cancelled", "amount_vnd": 1},
        ("POST", "/v1/disputes/{dispute_id}/resolve"): {"outcome": "rejected", "note": "n"},
    }


def body_variants(op: Operation) -> dict[str, dict[str, Any]]:
    """httpx keyword arguments for an empty/minimal body and, when known, a valid one."""
    if op.body_media_type is None:
        return {"no body": {}}
    if op.body_media_type == "application/x-www-form-urlencoded":
        return {"empty form": {"data": {}}}
    variants: dict[str, dict[str, Any]] = {"empty object": {"json": {}}}
    valid = valid_bodies().get((op.method, op.path))
    if valid:
        variants["valid body"] = {"json": valid}
    return variants


async def send(
    client: httpx.AsyncClient,
    op: Operation,
    headers: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> httpx.Response:
    return await client.request(op.method, op.url, headers=dict(headers or {}), **kwargs)


def problem_issues(response: httpx.Response, status: int, www_prefix: str | None) -> list[str]:
    """What is wrong with ``response`` as the problem+json answer ``status`` (empty: nothing)."""
    issues = []
    if response.status_code != status:
        issues.append(f"status {response.status_code} (want {status}): {response.text[:200]}")
        return issues
    content_type = response.headers.get("content-type", "")
    if content_type.split(";")[0].strip() != PROBLEM_JSON:
        issues.append(f"content-type {content_type!r}")
    else:
        body = response.json()
        if body.get("status") != status or not body.get("type") or not body.get("title"):
            issues.append(f"problem body {body!r}")
    if www_prefix is not None:
        www = response.headers.get("www-authenticate", "")
        if not www.startswith(www_prefix):
            issues.append(f"WWW-Authenticate {www!r} (want it to start with {www_prefix!r})")
    if not response.headers.get("x-request-id"):
        issues.append("no X-Request-ID")
    return issues


# --- JWS crafting ---------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _segment(part: Mapping[str, Any] | bytes) -> str:
    raw = part if isinstance(part, bytes) else json.dumps(part, separators=(",", ":")).encode()
    return b64url(raw)


def sign_es256(
    key: ec.EllipticCurvePrivateKey,
    header: Mapping[str, Any] | bytes,
    payload: Mapping[str, Any] | bytes,
) -> str:
    """A compact JWS with an ES256 signature (raw r||s) over exactly the given bytes."""
    signing_input = f"{_segment(header)}.{_segment(payload)}"
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def sign_hs256(secret: bytes, header: Mapping[str, Any], payload: Mapping[str, Any]) -> str:
    signing_input = f"{_segment(header)}.{_segment(payload)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


def unsigned(header: Mapping[str, Any], payload: Mapping[str, Any]) -> str:
    return f"{_segment(header)}.{_segment(payload)}."


def load_private_key(key_file: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def public_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def decode_claims(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload))
