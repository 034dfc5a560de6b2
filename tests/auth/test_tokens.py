"""Token issue/verification rules. Malicious tokens are hand-assembled so that each test reaches
exactly the rule it is about (e.g. a bad ``alg`` still carries a valid ES256 signature)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jose import jws, jwt

from app.auth.keys import SigningKeys
from app.auth.tokens import (
    MAX_TOKEN_BYTES,
    InvalidToken,
    TokenCache,
    TokenClaims,
    issue_token,
    verify_token,
)

ISS = "urn:test:issuer"
AUD = "urn:test:api"
NOW = 1_700_000_000
TTL = 900
LEEWAY = 30
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


# ---------------------------------------------------------------- helpers


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def segment(part: dict[str, Any] | bytes) -> str:
    raw = part if isinstance(part, bytes) else json.dumps(part, separators=(",", ":")).encode()
    return b64(raw)


def es256(private_key: ec.EllipticCurvePrivateKey, signing_input: bytes) -> bytes:
    r, s = decode_dss_signature(private_key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def forge(
    header: dict[str, Any] | bytes,
    payload: dict[str, Any] | bytes,
    signer: ec.EllipticCurvePrivateKey | None,
) -> str:
    """A compact JWS with a raw ES256 signature by ``signer`` (empty signature if None)."""
    signing_input = f"{segment(header)}.{segment(payload)}"
    signature = b64(es256(signer, signing_input.encode())) if signer else ""
    return f"{signing_input}.{signature}"


def good_claims(**overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": ISS,
        "aud": AUD,
        "sub": "client-1",
        "org": "VCB",
        "scope": "lookup sync",
        "jti": "5f0c4b7e",
        "iat": NOW,
        "nbf": NOW,
        "exp": NOW + TTL,
    }
    claims.update(overrides)
    return claims


def verify(keys: SigningKeys, token: str, now: int = NOW) -> TokenClaims:
    return verify_token(keys, token, issuer=ISS, audience=AUD, now=now, leeway=LEEWAY)


def rejected(keys: SigningKeys, token: str, match: str = "", now: int = NOW) -> str:
    """Assert ``token`` is rejected with a reason containing ``match``; return the reason."""
    with pytest.raises(InvalidToken) as info:
        verify(keys, token, now=now)
    assert match in info.value.reason
    assert str(info.value) == info.value.reason
    return info.value.reason


def issue(keys: SigningKeys, **overrides: Any) -> tuple[str, TokenClaims]:
    kwargs: dict[str, Any] = {
        "client_id": "client-1",
        "org": "VCB",
        "scopes": ["sync", "lookup"],
        "issuer": ISS,
        "audience": AUD,
        "ttl_seconds": TTL,
        "now": NOW,
    }
    kwargs.update(overrides)
    return issue_token(keys, **kwargs)


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def key_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tokens") / "jwt.pem"


@pytest.fixture(scope="module")
def keys(key_path: Path) -> SigningKeys:
    return SigningKeys.load_or_create(key_path)


@pytest.fixture(scope="module")
def private_key(keys: SigningKeys, key_path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


@pytest.fixture(scope="module")
def header(keys: SigningKeys) -> dict[str, Any]:
    return {"alg": "ES256", "kid": keys.kid, "typ": "JWT"}


@pytest.fixture
def jose_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[Any, Any]]]:
    """Records (key, algorithms) of every python-jose signature check."""
    calls: list[tuple[Any, Any]] = []
    real = jws.verify

    def spy(token: str, key: Any, algorithms: Any, verify: bool = True) -> bytes:
        calls.append((key, algorithms))
        return real(token, key, algorithms, verify)

    monkeypatch.setattr(jws, "verify", spy)
    yield calls


# ---------------------------------------------------------------- issue / round trip


def test_round_trip(keys: SigningKeys) -> None:
    token, issued = issue(keys, scopes=["sync", "lookup", "lookup"])
    assert verify(keys, token) == issued
    assert issued.sub == "client-1" and issued.org == "VCB"
    assert issued.scopes == frozenset({"lookup", "sync"})
    assert (issued.iat, issued.exp) == (NOW, NOW + TTL)
    assert jwt.get_unverified_header(token) == {"alg": "ES256", "kid": keys.kid, "typ": "JWT"}
    payload = json.loads(b64decode(token.split(".")[1]))
    assert payload == {
        "iss": ISS,
        "aud": AUD,
        "sub": "client-1",
        "org": "VCB",
        "scope": "lookup sync",
        "jti": issued.jti,
        "iat": NOW,
        "nbf": NOW,
        "exp": NOW + TTL,
    }


def test_jti_is_unique_per_token(keys: SigningKeys) -> None:
    assert len({issue(keys)[1].jti for _ in range(50)}) == 50


def test_empty_scope_round_trips(keys: SigningKeys) -> None:
    token, issued = issue(keys, scopes=[])
    assert verify(keys, token).scopes == frozenset() == issued.scopes


def test_strenum_scopes_become_plain_strings(keys: SigningKeys) -> None:
    class Scope(StrEnum):
        LOOKUP = "lookup"

    token, issued = issue(keys, scopes=[Scope.LOOKUP])
    assert [type(s) for s in issued.scopes] == [str]
    assert verify(keys, token) == issued


@pytest.mark.parametrize(
    "overrides",
    [
        {"client_id": ""},
        {"client_id": "x" * 201},
        {"org": ""},
        {"issuer": ""},
        {"audience": ""},
        {"scopes": ["bad scope"]},
        {"scopes": [""]},
        {"scopes": ['a"b']},
        {"scopes": [1]},
        {"ttl_seconds": 0},
        {"ttl_seconds": -5},
        {"now": -1},
        {"now": 1.5},
    ],
)
def test_issue_rejects_what_verify_would_reject(
    keys: SigningKeys, overrides: dict[str, Any]
) -> None:
    with pytest.raises(ValueError):
        issue(keys, **overrides)


# ---------------------------------------------------------------- time claims


def test_expiry_respects_leeway(keys: SigningKeys) -> None:
    token, issued = issue(keys)
    assert verify(keys, token, now=issued.exp + LEEWAY - 1) == issued
    rejected(keys, token, "expired", now=issued.exp + LEEWAY)
    rejected(keys, token, "expired", now=issued.exp + 10_000)


def test_future_iat_rejected(keys: SigningKeys, header: dict[str, Any], private_key: Any) -> None:
    ok = forge(header, good_claims(iat=NOW + LEEWAY, nbf=NOW), private_key)
    assert verify(keys, ok).iat == NOW + LEEWAY
    rejected(keys, forge(header, good_claims(iat=NOW + LEEWAY + 1), private_key), "future")


def test_future_nbf_rejected(keys: SigningKeys, header: dict[str, Any], private_key: Any) -> None:
    rejected(keys, forge(header, good_claims(nbf=NOW + LEEWAY + 1), private_key), "not yet")
    claims = good_claims()
    del claims["nbf"]
    assert verify(keys, forge(header, claims, private_key)).sub == "client-1"


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("exp", [1]),
        ("exp", [NOW + TTL]),
        ("exp", "123"),
        ("exp", str(NOW + TTL)),
        ("exp", True),
        ("exp", None),
        ("exp", {}),
        ("exp", float(NOW + TTL)),
        ("exp", NOW + TTL + 0.5),
        ("exp", -1),
        ("exp", 2**64),
        ("iat", 1.5),
        ("iat", True),
        ("iat", False),
        ("iat", "1700000000"),
        ("iat", [NOW]),
        ("nbf", [1]),
        ("nbf", 1.5),
        ("nbf", None),
    ],
)
def test_time_claims_must_be_json_integers(
    keys: SigningKeys, header: dict[str, Any], private_key: Any, claim: str, value: Any
) -> None:
    token = forge(header, good_claims(**{claim: value}), private_key)
    rejected(keys, token, f"{claim} must be an integer")


def _raw_payload(replacement: str) -> bytes:
    """Good claims as JSON text with the exp member replaced verbatim."""
    text = json.dumps(good_claims(exp=424242), separators=(",", ":"))
    return text.replace('"exp":424242', replacement).encode()


@pytest.mark.parametrize(
    "payload",
    [
        _raw_payload('"exp":NaN'),
        _raw_payload('"exp":Infinity'),
        _raw_payload('"exp":-Infinity'),
        _raw_payload('"exp":1e400'),
        _raw_payload(f'"exp":{"9" * 2000}'),
        _raw_payload(f'"exp":{NOW + TTL},"sub":"someone-else"'),
        _raw_payload(f'"exp":{NOW + TTL},"exp":{NOW + TTL}'),
        _raw_payload(f'"exp":{NOW + TTL},"x":NaN'),
        _raw_payload(f'"exp":{NOW + TTL},"x":[Infinity]'),
        b"[1]",
        b'"claims"',
        b"null",
        b"\xff\xfe",
        b"{",
        b"",
    ],
)
def test_payload_json_is_strict(
    keys: SigningKeys, header: dict[str, Any], private_key: Any, payload: bytes
) -> None:
    rejected(keys, forge(header, payload, private_key))


# ---------------------------------------------------------------- other claims


@pytest.mark.parametrize("claim", ["exp", "iat", "iss", "aud", "sub", "org", "jti", "scope"])
def test_required_claim_missing(
    keys: SigningKeys, header: dict[str, Any], private_key: Any, claim: str
) -> None:
    claims = good_claims()
    del claims[claim]
    rejected(keys, forge(header, claims, private_key), claim)


@pytest.mark.parametrize("iss", ["urn:test:other", ISS.upper(), ISS + " ", "", [ISS], None, 1])
def test_wrong_issuer(
    keys: SigningKeys, header: dict[str, Any], private_key: Any, iss: Any
) -> None:
    rejected(keys, forge(header, good_claims(iss=iss), private_key), "iss")


@pytest.mark.parametrize("aud", [AUD, [AUD], ["urn:other", AUD]])
def test_audience_accepted(
    keys: SigningKeys, header: dict[str, Any], private_key: Any, aud: Any
) -> None:
    assert verify(keys, forge(header, good_claims(aud=aud), private_key)).sub == "client-1"


@pytest.mark.parametrize(
    "aud", ["urn:other", AUD.upper(), "", [], ["urn:other"], [AUD, 1], [[AUD]], {AUD: 1}, None, 7]
)
def test_audience_rejected(
    keys: SigningKeys, header: dict[str, Any], private_key: Any, aud: Any
) -> None:
    rejected(keys, forge(header, good_claims(aud=aud), private_key), "aud")


@pytest.mark.parametrize("claim", ["sub", "org", "jti"])
@pytest.mark.parametrize("value", ["", "x" * 201, 1, None, ["a"], {"a": 1}, True])
def test_identity_claims_are_bounded_strings(
    keys: SigningKeys, header: dict[str, Any], private_key: Any, claim: str, value: Any
) -> None:
    rejected(keys, forge(header, good_claims(**{claim: value}), private_key), claim)


def test_identity_claims_accept_200_chars(
    keys: SigningKeys, header: dict[str, Any], private_key: Any
) -> None:
    claims = verify(keys, forge(header, good_claims(sub="s" * 200), private_key))
    assert claims.sub == "s" * 200


@pytest.mark.parametrize(
    "scope", [["lookup"], None, 1, "lookup  sync", " lookup", "lookup ", "lookup\tsync", 'a"b']
)
def test_scope_must_be_space_separated_string(
    keys: SigningKeys, header: dict[str, Any], private_key: Any, scope: Any
) -> None:
    rejected(keys, forge(header, good_claims(scope=scope), private_key), "scope")


# ---------------------------------------------------------------- header / algorithm


@pytest.mark.parametrize(
    "alg",
    [
        "none",
        "None",
        "NONE",
        "HS256",
        "RS256",
        "PS256",
        "ES384",
        "ES512",
        "EdDSA",
        "es256",
        "ES256 ",
        "ES",
        "S256",
        "",
        None,
        ["ES256"],
        {"ES256": 1},
        256,
    ],
)
def test_alg_must_be_exactly_es256(
    keys: SigningKeys, header: dict[str, Any], private_key: Any, alg: Any
) -> None:
    # Correctly ES256-signed, so only the alg rule can reject it.
    rejected(keys, forge(header | {"alg": alg}, good_claims(), private_key), "alg")


def test_alg_missing(keys: SigningKeys, private_key: Any) -> None:
    rejected(keys, forge({"kid": keys.kid}, good_claims(), private_key), "alg")


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_unsigned_alg_none_token(keys: SigningKeys, alg: str) -> None:
    unsigned = forge({"alg": alg, "kid": keys.kid, "typ": "JWT"}, good_claims(), None)
    assert unsigned.endswith(".")
    rejected(keys, unsigned, "alg")
    rejected(keys, unsigned.rstrip("."), "three segments")


def test_hs256_key_confusion_with_public_pem(keys: SigningKeys, key_path: Path) -> None:
    public_pem = (
        serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    for secret in (public_pem, public_pem.strip(), json.dumps(keys.jwks()).encode()):
        signing_input = f"{segment({'alg': 'HS256', 'kid': keys.kid})}.{segment(good_claims())}"
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        rejected(keys, f"{signing_input}.{b64(mac)}", "alg")


def test_rs256_token_rejected(keys: SigningKeys) -> None:
    rsa_pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    token = jwt.encode(
        good_claims(), rsa_pem.decode(), algorithm="RS256", headers={"kid": keys.kid}
    )
    rejected(keys, token, "alg")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("crit", ["exp"]),
        ("crit", []),
        ("jku", "https://attacker.example/jwks.json"),
        ("jwk", {"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}),
        ("x5u", "https://attacker.example/cert.pem"),
        ("x5c", ["MIIB"]),
        ("jku", None),
    ],
)
def test_forbidden_headers(
    keys: SigningKeys, header: dict[str, Any], private_key: Any, name: str, value: Any
) -> None:
    rejected(keys, forge(header | {name: value}, good_claims(), private_key), "forbidden")


@pytest.mark.parametrize("kid", ["unknown", "", 1, None, ["k"], {"kid": "k"}, True])
def test_kid_must_name_a_known_key(
    keys: SigningKeys, header: dict[str, Any], private_key: Any, kid: Any
) -> None:
    rejected(keys, forge(header | {"kid": kid}, good_claims(), private_key), "kid")


def test_kid_near_miss(keys: SigningKeys, header: dict[str, Any], private_key: Any) -> None:
    for kid in (keys.kid + "x", keys.kid[:-1], keys.kid.upper(), f" {keys.kid}"):
        rejected(keys, forge(header | {"kid": kid}, good_claims(), private_key), "unknown kid")


def test_kid_missing(keys: SigningKeys, private_key: Any) -> None:
    rejected(keys, forge({"alg": "ES256"}, good_claims(), private_key), "kid")


@pytest.mark.parametrize(
    "raw_header", [b"[]", b"null", b'"ES256"', b"\xff\xfe", b"{", b"", b"[" * 2500]
)
def test_header_must_be_a_json_object(
    keys: SigningKeys, private_key: Any, raw_header: bytes
) -> None:
    rejected(keys, forge(raw_header, good_claims(), private_key), "header")


def test_header_duplicate_alg_rejected(keys: SigningKeys, private_key: Any) -> None:
    raw = f'{{"alg":"none","alg":"ES256","kid":"{keys.kid}"}}'.encode()
    rejected(keys, forge(raw, good_claims(), private_key), "duplicate")


# ---------------------------------------------------------------- signature


def test_other_ec_key_with_same_kid(keys: SigningKeys, header: dict[str, Any]) -> None:
    attacker = ec.generate_private_key(ec.SECP256R1())
    rejected(keys, forge(header, good_claims(), attacker), "bad signature")


def test_tampered_payload(keys: SigningKeys) -> None:
    token, _ = issue(keys)
    head, _, sig = token.split(".")
    forged_payload = segment(good_claims(sub="admin-client"))
    rejected(keys, f"{head}.{forged_payload}.{sig}", "bad signature")


def test_tampered_header(keys: SigningKeys) -> None:
    token, _ = issue(keys)
    _, payload, sig = token.split(".")
    other_header = segment({"alg": "ES256", "kid": keys.kid, "typ": "at+jwt"})
    rejected(keys, f"{other_header}.{payload}.{sig}", "bad signature")


@pytest.mark.parametrize("position", [0, 31, 32, 63])
def test_tampered_signature(keys: SigningKeys, position: int) -> None:
    token, _ = issue(keys)
    head, payload, sig = token.split(".")
    raw = bytearray(b64decode(sig))
    raw[position] ^= 0x01
    rejected(keys, f"{head}.{payload}.{b64(bytes(raw))}", "bad signature")


@pytest.mark.parametrize("raw_signature", [b"", b"\x00" * 63, b"\x00" * 65, b"\x00" * 72])
def test_signature_length(keys: SigningKeys, raw_signature: bytes) -> None:
    token, _ = issue(keys)
    head, payload, _ = token.split(".")
    rejected(keys, f"{head}.{payload}.{b64(raw_signature)}", "length")


def test_zero_signature(keys: SigningKeys) -> None:
    token, _ = issue(keys)
    head, payload, _ = token.split(".")
    rejected(keys, f"{head}.{payload}.{b64(bytes(64))}", "bad signature")


def test_non_canonical_base64_rejected(keys: SigningKeys) -> None:
    token, _ = issue(keys)
    head, payload, sig = token.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    # 64 bytes -> 86 chars: the last char carries 2 unused bits; flipping one keeps the bytes.
    twin = sig[:-1] + alphabet[alphabet.index(sig[-1]) ^ 1]
    assert b64decode(twin) == b64decode(sig)
    for bad in (
        f"{head}.{payload}.{twin}",
        f"{head}.{payload}.{sig}==",
        f"{head}=.{payload}.{sig}",
        f"{head}.{payload}.{sig[:10]}+/{sig[12:]}",
        f"{head}.{payload}.{sig[:10]} {sig[10:]}",
        f"{head}.{payload}.{sig}\n",
    ):
        rejected(keys, bad, "base64url")


def test_malleated_signature_gives_identical_claims(keys: SigningKeys) -> None:
    # ECDSA (r, n - s) is also valid: one token may have two spellings. Harmless because the
    # claims are identical, but it is why the cache key is only an optimisation.
    token, issued = issue(keys)
    head, payload, sig = token.split(".")
    raw = b64decode(sig)
    s = int.from_bytes(raw[32:], "big")
    twin = f"{head}.{payload}.{b64(raw[:32] + (P256_ORDER - s).to_bytes(32, 'big'))}"
    assert twin != token
    assert verify(keys, twin) == issued


def test_jose_gets_only_es256_and_the_kids_key(
    keys: SigningKeys, jose_calls: list[tuple[Any, Any]]
) -> None:
    token, _ = issue(keys)
    verify(keys, token)
    assert jose_calls == [(keys.verification_key(keys.kid), ["ES256"])]
    assert type(jose_calls[0][1]) is list  # a str would make jose do substring matching


def test_unexpected_internal_error_fails_closed(keys: SigningKeys) -> None:
    class BrokenKeys(SigningKeys):
        def verification_key(self, kid: str) -> Any:
            raise ZeroDivisionError("bug")

    broken = BrokenKeys.__new__(BrokenKeys)
    token, _ = issue(keys)
    reason = rejected(broken, token, "malformed")
    assert "ZeroDivisionError" in reason


# ---------------------------------------------------------------- shape / size


def _padded_token(keys: SigningKeys, private_key: Any, header: dict[str, Any], size: int) -> str:
    """A validly signed token whose length is ``size`` or ``size - 1``."""
    filler = 0
    while True:
        token = forge(header, good_claims(pad="p" * filler), private_key)
        if len(token) >= size - 1:
            return token
        filler += 1


def test_length_limit(keys: SigningKeys, header: dict[str, Any], private_key: Any) -> None:
    at_limit = _padded_token(keys, private_key, header, MAX_TOKEN_BYTES)
    assert MAX_TOKEN_BYTES - 1 <= len(at_limit) <= MAX_TOKEN_BYTES
    assert verify(keys, at_limit).sub == "client-1"
    over = _padded_token(keys, private_key, header, MAX_TOKEN_BYTES + 3)
    assert len(over) > MAX_TOKEN_BYTES
    rejected(keys, over, "too long")
    rejected(keys, "a" * 1_000_000, "too long")


@pytest.mark.parametrize("extra", ["é", "\u0131", "\u200b", "\x00é"])
def test_non_ascii_rejected(keys: SigningKeys, extra: str) -> None:
    token, _ = issue(keys)
    rejected(keys, token[:10] + extra + token[10:], "ASCII")


@pytest.mark.parametrize(
    "make",
    [
        lambda t: "",
        lambda t: ".",
        lambda t: "..",
        lambda t: "...",
        lambda t: t.rsplit(".", 1)[0],
        lambda t: t + ".",
        lambda t: t + "." + t.split(".")[2],
        lambda t: t.replace(".", ".x.", 1) + ".y",
    ],
)
def test_exactly_three_segments(keys: SigningKeys, make: Callable[[str], str]) -> None:
    token, _ = issue(keys)
    rejected(keys, make(token))


@pytest.mark.parametrize(
    "early",
    [
        "x" * (MAX_TOKEN_BYTES + 1),
        "é.é.é",
        "a.b",
        segment({"alg": "HS256"}) + ".e30.",
        segment({"alg": "ES256", "crit": ["b64"]}) + ".e30.",
        segment({"alg": "ES256", "kid": "nope"}) + ".e30.",
        segment({"alg": "ES256", "kid": "nope"}) + ".e30.xx==",
    ],
)
def test_cheap_checks_never_reach_jose(
    keys: SigningKeys, jose_calls: list[tuple[Any, Any]], early: str
) -> None:
    rejected(keys, early)
    assert jose_calls == []


# ---------------------------------------------------------------- fuzzing

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)
claim_names = st.sampled_from(
    ["iss", "aud", "sub", "org", "scope", "jti", "iat", "nbf", "exp", "x"]
)
header_names = st.sampled_from(["alg", "kid", "typ", "crit", "jku", "cty"])
fuzz_settings = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def assert_only_invalid_token(keys: SigningKeys, token: Any) -> TokenClaims | None:
    try:
        return verify(keys, token)
    except InvalidToken:
        return None


@fuzz_settings
@given(st.text(max_size=5000))
def test_arbitrary_text_only_raises_invalid_token(keys: SigningKeys, text: str) -> None:
    assert assert_only_invalid_token(keys, text) is None


@fuzz_settings
@given(st.text(alphabet="ABCDEFGHabcdefgh0123456789-_.=+/eyJ", max_size=500))
def test_token_shaped_text_only_raises_invalid_token(keys: SigningKeys, text: str) -> None:
    assert assert_only_invalid_token(keys, text) is None


@fuzz_settings
@given(st.lists(st.binary(max_size=300), min_size=1, max_size=5))
def test_arbitrary_segments_only_raise_invalid_token(keys: SigningKeys, parts: list[bytes]) -> None:
    assert assert_only_invalid_token(keys, ".".join(b64(p) for p in parts)) is None


@fuzz_settings
@given(
    header_changes=st.dictionaries(header_names, json_values, max_size=2),
    claim_changes=st.dictionaries(claim_names, json_values, max_size=4),
)
def test_signed_junk_claims_never_escape(
    keys: SigningKeys,
    header: dict[str, Any],
    private_key: Any,
    header_changes: dict[str, Any],
    claim_changes: dict[str, Any],
) -> None:
    token = forge(header | header_changes, good_claims(**claim_changes), private_key)
    result = assert_only_invalid_token(keys, token)
    if result is not None:
        # Anything accepted must satisfy every rule, whatever the fuzzer put in.
        final = good_claims(**claim_changes)
        assert type(final["exp"]) is int and final["exp"] > NOW - LEEWAY
        assert type(final["iat"]) is int and final["iat"] <= NOW + LEEWAY
        assert final["iss"] == ISS
        assert final["aud"] == AUD or (isinstance(final["aud"], list) and AUD in final["aud"])
        assert result == TokenClaims(
            sub=final["sub"],
            org=final["org"],
            scopes=frozenset(final["scope"].split()),
            jti=final["jti"],
            iat=final["iat"],
            exp=final["exp"],
        )


# ---------------------------------------------------------------- cache


def _claims(exp: int, jti: str = "j") -> TokenClaims:
    return TokenClaims(sub="c", org="o", scopes=frozenset(), jti=jti, iat=NOW, exp=exp)


def test_cache_hit_and_miss() -> None:
    cache = TokenCache()
    claims = _claims(NOW + 10)
    assert cache.get("t", NOW) is None
    cache.put("t", claims)
    assert cache.get("t", NOW) is claims
    assert cache.get("other", NOW) is None


def test_cache_expiry_evicts() -> None:
    cache = TokenCache()
    cache.put("t", _claims(NOW + 10))
    assert cache.get("t", NOW + 9) is not None
    assert cache.get("t", NOW + 10) is None
    assert len(cache) == 0
    cache.put("u", _claims(NOW + 10))
    assert cache.get("u", NOW + 10_000) is None
    assert len(cache) == 0


def test_cache_is_bounded_and_drops_oldest() -> None:
    cache = TokenCache(max_entries=3)
    for i in range(4):
        cache.put(f"t{i}", _claims(NOW + 100, jti=str(i)))
    assert len(cache) == 3
    assert cache.get("t0", NOW) is None
    assert [cache.get(f"t{i}", NOW) for i in (1, 2, 3)] == [
        _claims(NOW + 100, jti=str(i)) for i in (1, 2, 3)
    ]
    cache.put("t3", _claims(NOW + 100, jti="again"))  # refresh, not a new entry
    assert len(cache) == 3 and cache.get("t1", NOW) is not None


def test_cache_default_bound() -> None:
    cache = TokenCache()
    claims = _claims(NOW + 100)
    for i in range(10_001):
        cache.put(str(i), claims)
    assert len(cache) == 10_000
    assert cache.get("0", NOW) is None and cache.get("10000", NOW) is claims


@pytest.mark.parametrize("bad", [0, -1, 1.5])
def test_cache_rejects_bad_bound(bad: Any) -> None:
    with pytest.raises(ValueError):
        TokenCache(max_entries=bad)


def test_cache_clear() -> None:
    cache = TokenCache()
    cache.put("t", _claims(NOW + 10))
    cache.clear()
    assert cache.get("t", NOW) is None and len(cache) == 0
