"""Key file handling, rotation and the JWKS."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jose import jwt

from app.auth import keys as keys_module
from app.auth.keys import SigningKeys, WeakKey, jwk_thumbprint
from app.auth.tokens import InvalidToken, issue_token, verify_token

ISS = "urn:test:issuer"
AUD = "urn:test:api"
NOW = 1_700_000_000

_NO_ENC = serialization.NoEncryption()
_PKCS8 = serialization.PrivateFormat.PKCS8
_SPKI = serialization.PublicFormat.SubjectPublicKeyInfo
_PEM = serialization.Encoding.PEM


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def private_pem(key: Any) -> bytes:
    return bytes(key.private_bytes(_PEM, _PKCS8, _NO_ENC))


def public_pem(key: Any) -> bytes:
    return bytes(key.public_key().public_bytes(_PEM, _SPKI))


def p256() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def issue(keys: SigningKeys) -> str:
    token, _ = issue_token(
        keys,
        client_id="client-1",
        org="VCB",
        scopes=["lookup"],
        issuer=ISS,
        audience=AUD,
        ttl_seconds=900,
        now=NOW,
    )
    return token


def verifies(keys: SigningKeys, token: str) -> bool:
    try:
        verify_token(keys, token, issuer=ISS, audience=AUD, now=NOW)
    except InvalidToken:
        return False
    return True


def header_kid(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


def stray_files(directory: Path, *expected: str) -> set[str]:
    return set(os.listdir(directory)) - set(expected)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """Umask 0, so file modes come only from the code under test."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


# ---------------------------------------------------------------- creation / loading


def test_creates_missing_key_0600_pkcs8_p256(tmp_path: Path, open_umask: None) -> None:
    key_file = tmp_path / "deep" / "er" / "jwt.pem"
    keys = SigningKeys.load_or_create(key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    data = key_file.read_bytes()
    assert data.startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS8, not SEC1
    key = serialization.load_pem_private_key(data, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    assert keys.kid == jwk_thumbprint(key.public_key())
    assert stray_files(key_file.parent, "jwt.pem") == set()


def test_loading_again_keeps_the_key(tmp_path: Path) -> None:
    key_file = tmp_path / "jwt.pem"
    first = SigningKeys.load_or_create(key_file)
    before = key_file.read_bytes()
    second = SigningKeys.load_or_create(key_file)
    assert second.kid == first.kid and key_file.read_bytes() == before
    assert verifies(second, issue(first))


def test_loads_an_existing_sec1_p256_key(tmp_path: Path) -> None:
    key = p256()
    key_file = tmp_path / "jwt.pem"
    key_file.write_bytes(
        key.private_bytes(_PEM, serialization.PrivateFormat.TraditionalOpenSSL, _NO_ENC)
    )
    assert SigningKeys.load_or_create(key_file).kid == jwk_thumbprint(key.public_key())


def test_kid_is_rfc7638_thumbprint() -> None:
    key = p256()
    numbers = key.public_key().public_numbers()
    x, y = b64(numbers.x.to_bytes(32, "big")), b64(numbers.y.to_bytes(32, "big"))
    # RFC 7638 §3.2: required members only, lexicographic order, no whitespace.
    canonical = f'{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}'
    expected = b64(hashlib.sha256(canonical.encode()).digest())
    assert SigningKeys(key).kid == expected == jwk_thumbprint(key.public_key())
    assert len(expected) == 43


def _encrypted_p256() -> bytes:
    return p256().private_bytes(_PEM, _PKCS8, serialization.BestAvailableEncryption(b"pw"))


BAD_KEY_FILES: dict[str, Callable[[], bytes]] = {
    "rsa": lambda: private_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
    "p384": lambda: private_pem(ec.generate_private_key(ec.SECP384R1())),
    "secp256k1": lambda: private_pem(ec.generate_private_key(ec.SECP256K1())),
    "ed25519": lambda: private_pem(ed25519.Ed25519PrivateKey.generate()),
    "public-only": lambda: public_pem(p256()),
    "empty": lambda: b"",
    "whitespace": lambda: b" \n\t\n",
    "garbage": lambda: b"this is not a key\n",
    "binary": lambda: bytes(range(256)),
    "truncated": lambda: private_pem(p256())[:100],
    "encrypted": _encrypted_p256,
    "der": lambda: p256().private_bytes(serialization.Encoding.DER, _PKCS8, _NO_ENC),
    "huge": lambda: b"A" * 100_000,
}


@pytest.mark.parametrize("kind", sorted(BAD_KEY_FILES))
def test_refuses_unusable_key_file_and_leaves_it_alone(tmp_path: Path, kind: str) -> None:
    key_file = tmp_path / "jwt.pem"
    content = BAD_KEY_FILES[kind]()
    key_file.write_bytes(content)
    with pytest.raises(WeakKey) as info:
        SigningKeys.load_or_create(key_file)
    assert str(key_file) in str(info.value)
    assert key_file.read_bytes() == content  # never "repaired" by overwriting
    with pytest.raises(WeakKey):
        SigningKeys.rotate(key_file)
    assert key_file.read_bytes() == content


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("rsa", "not an EC key"),
        ("p384", "not P-256"),
        ("public-only", "public key"),
        ("empty", "empty"),
        ("whitespace", "empty"),
        ("encrypted", "encrypted"),
        ("garbage", "not a PEM"),
    ],
)
def test_refusal_messages_say_what_is_wrong(tmp_path: Path, kind: str, words: str) -> None:
    key_file = tmp_path / "jwt.pem"
    key_file.write_bytes(BAD_KEY_FILES[kind]())
    with pytest.raises(WeakKey, match=words):
        SigningKeys.load_or_create(key_file)


def test_key_path_that_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(WeakKey):
        SigningKeys.load_or_create(tmp_path)


def test_weak_key_is_a_runtime_error() -> None:
    assert issubclass(WeakKey, RuntimeError)


def test_constructor_refuses_other_curves() -> None:
    with pytest.raises(WeakKey):
        SigningKeys(ec.generate_private_key(ec.SECP384R1()))
    with pytest.raises(WeakKey):
        SigningKeys(p256(), [ec.generate_private_key(ec.SECP384R1()).public_key()])


# ---------------------------------------------------------------- racing creators


def test_concurrent_creators_agree_on_one_key(tmp_path: Path) -> None:
    key_file = tmp_path / "jwt.pem"
    barrier = threading.Barrier(8)
    kids: list[str] = []

    def start() -> None:
        barrier.wait()
        kids.append(SigningKeys.load_or_create(key_file).kid)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(kids) == 8 and len(set(kids)) == 1
    assert SigningKeys.load_or_create(key_file).kid == kids[0]
    assert stray_files(tmp_path, "jwt.pem") == set()


def test_file_that_appears_meanwhile_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key_file = tmp_path / "jwt.pem"
    competitor = p256()
    mine = p256()

    def generate_while_competitor_publishes() -> ec.EllipticCurvePrivateKey:
        key_file.write_bytes(private_pem(competitor))
        return mine

    monkeypatch.setattr(keys_module, "_new_private_key", generate_while_competitor_publishes)
    keys = SigningKeys.load_or_create(key_file)
    assert keys.kid == jwk_thumbprint(competitor.public_key())
    assert key_file.read_bytes() == private_pem(competitor)
    assert stray_files(tmp_path, "jwt.pem") == set()


# ---------------------------------------------------------------- previous keys / rotation


def test_rotation_keeps_old_tokens_valid(tmp_path: Path, open_umask: None) -> None:
    key_file = tmp_path / "jwt.pem"
    before = SigningKeys.load_or_create(key_file)
    old_token = issue(before)

    new_kid = SigningKeys.rotate(key_file)
    assert new_kid != before.kid
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    retired = tmp_path / f"jwt.pem.previous-{before.kid}.pem"
    retired_pem = retired.read_bytes()
    assert retired_pem.startswith(b"-----BEGIN PUBLIC KEY-----")
    assert b"PRIVATE" not in retired_pem
    # Public half only, yet SPEC §8 "Files": every key file the product creates is 0600.
    assert stat.S_IMODE(retired.stat().st_mode) == 0o600
    assert stray_files(tmp_path, "jwt.pem", retired.name) == set()

    after = SigningKeys.load_or_create(key_file)
    assert after.kid == new_kid
    assert verifies(after, old_token)
    new_token = issue(after)
    assert header_kid(new_token) == new_kid and header_kid(old_token) == before.kid
    assert verifies(after, new_token)
    assert not verifies(before, new_token)  # processes not yet reloaded: unknown kid

    retired.unlink()
    pruned = SigningKeys.load_or_create(key_file)
    assert not verifies(pruned, old_token)
    assert verifies(pruned, new_token)


def test_rotating_twice_keeps_both_previous_keys(tmp_path: Path) -> None:
    key_file = tmp_path / "jwt.pem"
    first = SigningKeys.load_or_create(key_file)
    token = issue(first)
    second_kid = SigningKeys.rotate(key_file)
    third_kid = SigningKeys.rotate(key_file)
    keys = SigningKeys.load_or_create(key_file)
    assert keys.kid == third_kid
    assert set(keys.public_keys) == {first.kid, second_kid, third_kid}
    assert verifies(keys, token)


def test_rotate_without_key_file(tmp_path: Path) -> None:
    with pytest.raises(WeakKey):
        SigningKeys.rotate(tmp_path / "missing.pem")


def test_previous_file_may_hold_a_private_key_but_only_verifies(tmp_path: Path) -> None:
    key_file = tmp_path / "jwt.pem"
    current = SigningKeys.load_or_create(key_file)
    old = p256()
    (tmp_path / "jwt.pem.previous-manual.pem").write_bytes(private_pem(old))
    keys = SigningKeys.load_or_create(key_file)
    old_kid = jwk_thumbprint(old.public_key())
    assert keys.kid == current.kid
    assert set(keys.public_keys) == {current.kid, old_kid}
    assert header_kid(issue(keys)) == current.kid
    assert all("d" not in jwk for jwk in keys.jwks()["keys"])


def test_unrelated_files_are_not_previous_keys(tmp_path: Path) -> None:
    key_file = tmp_path / "jwt.pem"
    SigningKeys.load_or_create(key_file)
    (tmp_path / "other.pem.previous-x.pem").write_bytes(public_pem(p256()))
    (tmp_path / "jwt.pem.previous-x.txt").write_bytes(public_pem(p256()))
    (tmp_path / "jwt.pem.bak").write_bytes(b"garbage")
    assert len(SigningKeys.load_or_create(key_file).public_keys) == 1


@pytest.mark.parametrize(
    "content",
    [
        lambda: public_pem(ec.generate_private_key(ec.SECP384R1())),
        lambda: private_pem(ec.generate_private_key(ec.SECP384R1())),
        lambda: public_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        lambda: b"garbage",
        lambda: b"",
        _encrypted_p256,
    ],
)
def test_refuses_bad_previous_key(tmp_path: Path, content: Callable[[], bytes]) -> None:
    key_file = tmp_path / "jwt.pem"
    SigningKeys.load_or_create(key_file)
    (tmp_path / "jwt.pem.previous-bad.pem").write_bytes(content())
    with pytest.raises(WeakKey, match="previous-bad"):
        SigningKeys.load_or_create(key_file)


def test_key_file_name_with_glob_characters(tmp_path: Path) -> None:
    key_file = tmp_path / "k[1]*.pem"
    before = SigningKeys.load_or_create(key_file)
    token = issue(before)
    SigningKeys.rotate(key_file)
    assert verifies(SigningKeys.load_or_create(key_file), token)


# ---------------------------------------------------------------- jwks / sign


def test_jwks_has_public_parts_only_for_every_kid(tmp_path: Path) -> None:
    key_file = tmp_path / "jwt.pem"
    old_kid = SigningKeys.load_or_create(key_file).kid
    new_kid = SigningKeys.rotate(key_file)
    private = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    d = b64(private.private_numbers().private_value.to_bytes(32, "big"))

    jwks = SigningKeys.load_or_create(key_file).jwks()
    text = json.dumps(jwks)
    assert d not in text and '"d"' not in text
    assert {jwk["kid"] for jwk in jwks["keys"]} == {old_kid, new_kid}
    for jwk in jwks["keys"]:
        assert set(jwk) == {"kty", "crv", "x", "y", "kid", "alg", "use"}
        assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("EC", "P-256", "ES256", "sig")
        x, y = b64decode(jwk["x"]), b64decode(jwk["y"])
        assert len(x) == len(y) == 32
        public = ec.EllipticCurvePublicNumbers(
            int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1()
        ).public_key()
        assert jwk_thumbprint(public) == jwk["kid"]
    current = next(jwk for jwk in jwks["keys"] if jwk["kid"] == new_kid)
    assert b64decode(current["x"]) == private.public_key().public_numbers().x.to_bytes(32, "big")


def test_sign_header_and_signature(tmp_path: Path) -> None:
    key_file = tmp_path / "jwt.pem"
    keys = SigningKeys.load_or_create(key_file)
    expires = datetime(2030, 1, 1, tzinfo=UTC)
    claims = {"sub": "a", "exp": expires}
    token = keys.sign(claims)
    assert claims == {"sub": "a", "exp": expires}  # jose converts datetimes in place
    assert jwt.get_unverified_header(token) == {"alg": "ES256", "kid": keys.kid, "typ": "JWT"}
    public = public_pem(serialization.load_pem_private_key(key_file.read_bytes(), password=None))
    decoded = jwt.decode(token, public.decode(), algorithms=["ES256"])
    assert decoded == {"sub": "a", "exp": int(expires.timestamp())}
    assert len(b64decode(token.split(".")[2])) == 64  # raw r||s, not DER


def test_verification_key_lookup(tmp_path: Path) -> None:
    keys = SigningKeys.load_or_create(tmp_path / "jwt.pem")
    assert keys.verification_key(keys.kid) is not None
    assert keys.verification_key("nope") is None
    assert keys.verification_key(keys.kid).to_dict().get("d") is None  # type: ignore[union-attr]
