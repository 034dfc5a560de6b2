"""Issue and verify the service's ES256 access tokens; cache verified tokens.

Verification does its own strict parsing and claim checks and uses python-jose only to check
the signature. python-jose 3.5.0 accepts a missing ``aud`` even when an audience is given,
treats ``exp`` as optional, accepts ``"123"``/``1.5``/``true`` as times, raises TypeError or
OverflowError on ``exp: [1]`` / ``exp: 1e400``, ignores ``crit``, and does substring matching
when ``algorithms`` is a string, so none of its claim validation is relied upon.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NoReturn

from jose import jws

from app.auth.keys import ALGORITHM, SigningKeys

__all__ = [
    "MAX_TOKEN_BYTES",
    "InvalidToken",
    "TokenCache",
    "TokenClaims",
    "issue_token",
    "verify_token",
]

MAX_TOKEN_BYTES = 4096
MAX_CLAIM_CHARS = 200
_ES256_SIGNATURE_BYTES = 64
# Headers that ask the verifier to fetch or trust key material / semantics named by the token.
_FORBIDDEN_HEADERS = frozenset({"crit", "jku", "jwk", "x5u", "x5c"})
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
# RFC 6749 section 3.3 scope-token characters.
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
# Sanity bound for NumericDate values; well past any real date, well below float trouble.
_MAX_NUMERIC_DATE = 2**53
_MISSING = object()


class InvalidToken(Exception):
    """The token must be rejected; ``reason`` says why (for logs, not for clients)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """The verified claims of an access token."""

    sub: str  # client_id
    org: str  # organisation code
    scopes: frozenset[str]
    jti: str
    iat: int
    exp: int


def issue_token(
    keys: SigningKeys,
    *,
    client_id: str,
    org: str,
    scopes: Iterable[str],
    issuer: str,
    audience: str,
    ttl_seconds: int,
    now: int,
) -> tuple[str, TokenClaims]:
    """Sign a token for ``client_id`` valid from ``now`` for ``ttl_seconds``.

    Raises ValueError for inputs verify_token would later reject.
    """
    texts = {"client_id": client_id, "org": org, "issuer": issuer, "audience": audience}
    for name, value in texts.items():
        _require_text(name, value)
    # str() turns StrEnum members into plain strings, matching what verification returns.
    scope_set = frozenset(str(s) if isinstance(s, str) else s for s in scopes)
    bad = sorted(repr(s) for s in scope_set if type(s) is not str or not _SCOPE_TOKEN.fullmatch(s))
    if bad:
        raise ValueError(f"invalid scope tokens: {', '.join(bad)}")
    if type(ttl_seconds) is not int or ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be a positive int")
    if type(now) is not int or not 0 <= now <= _MAX_NUMERIC_DATE - ttl_seconds:
        raise ValueError("now must be a non-negative int timestamp")
    claims = TokenClaims(
        sub=client_id,
        org=org,
        scopes=scope_set,
        jti=uuid.uuid4().hex,
        iat=now,
        exp=now + ttl_seconds,
    )
    token = keys.sign(
        {
            "iss": issuer,
            "aud": audience,
            "sub": claims.sub,
            "org": claims.org,
            "scope": " ".join(sorted(scope_set)),
            "jti": claims.jti,
            "iat": claims.iat,
            "nbf": claims.iat,
            "exp": claims.exp,
        },
        now=now,
    )
    return token, claims


def _require_text(name: str, value: object) -> None:
    if not isinstance(value, str) or not value or len(value) > MAX_CLAIM_CHARS:
        raise ValueError(f"{name} must be a non-empty string of at most {MAX_CLAIM_CHARS} chars")


def verify_token(
    keys: SigningKeys,
    token: str,
    *,
    issuer: str,
    audience: str,
    now: int,
    leeway: int = 30,
    max_lifetime: int | None = None,
    retired_leeway: int = 5,
) -> TokenClaims:
    """Verify signature and claims of ``token``; raise InvalidToken on any problem.

    Checks run cheapest first, and the signature is checked before the payload is parsed.
    A token living longer than ``max_lifetime`` (``exp - iat``) is refused, and so is one
    whose ``iat`` is more than ``retired_leeway`` seconds (clock skew between hosts) after
    its key was retired (SPEC §8 "Signing keys").
    """
    try:
        kid, payload = _verified_payload(keys, token)
        claims = _check_claims(payload, issuer=issuer, audience=audience, now=now, leeway=leeway)
        if max_lifetime is not None and claims.exp - claims.iat > max_lifetime:
            _reject("token lifetime exceeds the configured TTL")
        retired_at = keys.retired_at(kid)
        if retired_at is not None and claims.iat > retired_at + retired_leeway:
            _reject("token issued after its key was retired")
        return claims
    except InvalidToken:
        raise
    except Exception as exc:
        # Fail closed: an input we did not anticipate is a rejected token, never a 500.
        raise InvalidToken(f"malformed token ({type(exc).__name__})") from exc


def _reject(reason: str) -> NoReturn:
    raise InvalidToken(reason)


def _verified_payload(keys: SigningKeys, token: str) -> tuple[str, dict[str, Any]]:
    if not isinstance(token, str):
        _reject("token is not a string")
    if len(token) > MAX_TOKEN_BYTES:
        _reject("token too long")
    if not token.isascii():
        _reject("token is not ASCII")
    segments = token.split(".")
    if len(segments) != 3:
        _reject("token must have exactly three segments")
    header = _json_object(_b64url_decode(segments[0], "header"), "header")
    alg = header.get("alg")
    if type(alg) is not str or alg != ALGORITHM:
        _reject("alg must be ES256")
    forbidden = _FORBIDDEN_HEADERS.intersection(header)
    if forbidden:
        _reject(f"forbidden header parameter(s): {sorted(forbidden)}")
    kid = header.get("kid")
    if type(kid) is not str:
        _reject("kid missing or not a string")
    key = keys.verification_key(kid)
    if key is None:
        _reject("unknown kid")
    payload_bytes = _b64url_decode(segments[1], "payload")
    if len(_b64url_decode(segments[2], "signature")) != _ES256_SIGNATURE_BYTES:
        _reject("signature has the wrong length for ES256")
    try:
        # A list, not the string "ES256": jose tests `alg in algorithms`, a substring test
        # for strings. The key is the single one registered under kid.
        jws.verify(token, key, algorithms=[ALGORITHM])
    except Exception as exc:
        raise InvalidToken("bad signature") from exc
    # Parse our own strictly decoded bytes; equal to what jose verified since segments are
    # canonical base64url.
    return kid, _json_object(payload_bytes, "payload")


def _b64url_decode(segment: str, what: str) -> bytes:
    # Strict: base64url alphabet only, no padding, canonical trailing bits, so each token has
    # one spelling per signature (jose itself accepts '=' padding and non-zero trailing bits).
    if not _B64URL.fullmatch(segment) or len(segment) % 4 == 1:
        _reject(f"{what} is not base64url")
    try:
        data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        _reject(f"{what} is not base64url")
    if base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii") != segment:
        _reject(f"{what} is not canonical base64url")
    return data


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        _reject("duplicate JSON member names")
    return result


def _no_constants(name: str) -> NoReturn:
    _reject(f"JSON constant {name} is not allowed")


def _json_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_no_duplicates,
            parse_constant=_no_constants,
        )
    except (ValueError, RecursionError) as exc:
        raise InvalidToken(f"{what} is not valid JSON") from exc
    if not isinstance(value, dict):
        _reject(f"{what} is not a JSON object")
    return value


def _check_claims(
    claims: dict[str, Any], *, issuer: str, audience: str, now: int, leeway: int
) -> TokenClaims:
    exp = _numeric_date(claims, "exp")
    iat = _numeric_date(claims, "iat")
    if exp <= now - leeway:
        _reject("token expired")
    if iat > now + leeway:
        _reject("token issued in the future")
    if "nbf" in claims and _numeric_date(claims, "nbf") > now + leeway:
        _reject("token not yet valid")
    iss = claims.get("iss")
    if type(iss) is not str or iss != issuer:
        _reject("wrong or missing iss")
    _check_audience(claims.get("aud", _MISSING), audience)
    return TokenClaims(
        sub=_text_claim(claims, "sub"),
        org=_text_claim(claims, "org"),
        scopes=_scopes(claims.get("scope", _MISSING)),
        jti=_text_claim(claims, "jti"),
        iat=iat,
        exp=exp,
    )


def _numeric_date(claims: dict[str, Any], name: str) -> int:
    value = claims.get(name, _MISSING)
    if value is _MISSING:
        _reject(f"{name} missing")
    # type() rather than isinstance(): bool is an int subclass and must be rejected.
    if type(value) is not int or not 0 <= value <= _MAX_NUMERIC_DATE:
        _reject(f"{name} must be an integer NumericDate")
    return value


def _check_audience(aud: object, audience: str) -> None:
    if aud is _MISSING:
        _reject("aud missing")
    if type(aud) is str:
        matches = aud == audience
    elif type(aud) is list:
        # Every member must be a string; a list of mixed junk is malformed, not "no match".
        matches = all(type(a) is str for a in aud) and audience in aud
    else:
        matches = False
    if not matches:
        _reject("wrong aud")


def _text_claim(claims: dict[str, Any], name: str) -> str:
    value = claims.get(name)
    if type(value) is not str or not value or len(value) > MAX_CLAIM_CHARS:
        _reject(f"{name} must be a non-empty string of at most {MAX_CLAIM_CHARS} chars")
    return value


def _scopes(scope: object) -> frozenset[str]:
    if type(scope) is not str:
        _reject("scope missing or not a string")
    if not scope:
        return frozenset()
    parts = scope.split(" ")
    # Catches empty parts (double/leading/trailing spaces), tabs, newlines, quotes, backslashes.
    if not all(_SCOPE_TOKEN.fullmatch(part) for part in parts):
        _reject("scope is not a space-separated list of scope tokens")
    return frozenset(parts)


class TokenCache:
    """Bounded map from raw token string to verified claims, dropping the oldest entry first.

    Meant for one asyncio event loop: no method awaits, so each call is atomic there. Only put
    tokens that verify_token accepted. Entries outlive key removal until their ``exp``; call
    clear() after deleting a previous key file.
    """

    __slots__ = ("_entries", "_max_entries")

    def __init__(self, max_entries: int = 10_000) -> None:
        """Create an empty cache holding at most ``max_entries`` tokens."""
        if type(max_entries) is not int or max_entries < 1:
            raise ValueError("max_entries must be a positive int")
        self._max_entries = max_entries
        # OrderedDict, not dict: popitem(last=False) is O(1), whereas popping a plain dict's
        # first key via next(iter(d)) rescans deleted slots and degrades with churn.
        self._entries: OrderedDict[str, TokenClaims] = OrderedDict()

    def get(self, token: str, now: int) -> TokenClaims | None:
        """Cached claims for ``token``, or None if absent or expired (then evicted)."""
        claims = self._entries.get(token)
        if claims is None:
            return None
        if now >= claims.exp:
            del self._entries[token]
            return None
        return claims

    def put(self, token: str, claims: TokenClaims) -> None:
        """Remember ``claims`` for ``token``, evicting the oldest entry if full."""
        if token in self._entries:
            self._entries[token] = claims
            return
        if len(self._entries) >= self._max_entries:
            self._entries.popitem(last=False)
        self._entries[token] = claims

    def clear(self) -> None:
        """Forget every cached token."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
