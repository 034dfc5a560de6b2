"""ES256 signing-key management: the key file, sealing keys for the database, the JWKS.

``REGISTRY_JWT_KEY_FILE`` is an EC P-256 private key stored as an unencrypted PKCS8 PEM file
(mode 0600), created on first start. The service signs with the keys of the ``signing_key``
table (app.auth.key_store), which every process shares: the key file's key is adopted as the
first of them, and ``KeySeal`` derives from it the key that seals the private keys stored
there. ``SigningKeys.rotate`` (file-based: the old public key kept next to the file as
``<key file name>.previous-<kid>.pem``) is what the checkpoint key and older deployments use;
``registry key rotate`` rotates in the database instead.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from jose import jwt
from jose.backends.base import Key
from jose.backends.cryptography_backend import CryptographyECKey

from app.auth.key_files import (
    WeakKey,
    load_previous_keys,
    load_private_key,
    private_pem,
    public_pem_bytes,
    require_p256,
    write_atomic,
)

__all__ = [
    "ALGORITHM",
    "KeyRecord",
    "KeySeal",
    "SigningKeys",
    "WeakKey",
    "jwk_thumbprint",
    "public_jwk",
]

ALGORITHM = "ES256"
_COORD_BYTES = 32

log = logging.getLogger(__name__)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def public_jwk(public_key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    point = public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    # Uncompressed point = 0x04 || x || y, each coordinate fixed-width as JWK requires.
    x, y = point[1 : 1 + _COORD_BYTES], point[1 + _COORD_BYTES :]
    return {"crv": "P-256", "kty": "EC", "x": _b64url(x), "y": _b64url(y)}


def jwk_thumbprint(public_key: ec.EllipticCurvePublicKey) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url without padding) of a P-256 public key."""
    canonical = json.dumps(public_jwk(public_key), separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode("ascii")).digest())


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A ``signing_key`` row, decoded: ``private_key`` is None when it could not be used."""

    kid: str
    public_key: ec.EllipticCurvePublicKey
    private_key: ec.EllipticCurvePrivateKey | None
    active_from: int
    retired_at: int | None


class KeySeal:
    """Seals private keys for the database with AES-256-GCM, the kid as associated data.

    The sealing key is HKDF-SHA256 of the key file's private scalar, so every process given
    the same ``REGISTRY_JWT_KEY_FILE`` can open the keys, and a copy of the database (or a
    backup) without that file cannot sign tokens. The key file is only read, never rewritten.
    """

    __slots__ = ("_aead",)
    _INFO = b"vn-fraud-registry signing-key seal v1"
    _PREFIX = "v1."

    def __init__(self, key_file_key: ec.EllipticCurvePrivateKey) -> None:
        scalar = key_file_key.private_numbers().private_value.to_bytes(_COORD_BYTES, "big")
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=self._INFO)
        self._aead = AESGCM(derived.derive(scalar))

    @classmethod
    def from_key_file(cls, key_file: Path) -> KeySeal:
        return cls(load_private_key(Path(key_file)))

    def seal(self, kid: str, key: ec.EllipticCurvePrivateKey) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, private_pem(key), kid.encode("ascii"))
        return self._PREFIX + _b64url(nonce + sealed)

    def open(self, kid: str, sealed: str) -> ec.EllipticCurvePrivateKey:
        """The private key sealed for ``kid``; WeakKey when this key file cannot open it."""
        try:
            if not sealed.startswith(self._PREFIX):
                raise ValueError("unknown seal version")
            raw = base64.urlsafe_b64decode(sealed[len(self._PREFIX) :] + "==")
            pem = self._aead.decrypt(raw[:12], raw[12:], kid.encode("ascii"))
            key = serialization.load_pem_private_key(pem, password=None)
        except Exception as exc:
            raise WeakKey(
                f"signing key {kid} cannot be opened with this REGISTRY_JWT_KEY_FILE "
                "(every process must be given the same key file)"
            ) from exc
        require_p256(key, f"signing key {kid}")
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        if jwk_thumbprint(key.public_key()) != kid:
            raise WeakKey(f"signing key {kid}: sealed key does not match its kid")
        return key


def public_pem(key: ec.EllipticCurvePublicKey) -> str:
    """SubjectPublicKeyInfo PEM of ``key``."""
    return public_pem_bytes(key).decode("ascii")


def load_public_pem(data: str) -> ec.EllipticCurvePublicKey:
    key = serialization.load_pem_public_key(data.encode("ascii"))
    require_p256(key, "stored public key")
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key


def new_private_key() -> ec.EllipticCurvePrivateKey:
    return _new_private_key()


def read_private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """The EC P-256 private key in ``path``; WeakKey otherwise."""
    return load_private_key(path)


class SigningKeys:
    """The ES256 keys one process signs and verifies with.

    Built from the ``signing_key`` table (``from_records``): several keys may be scheduled,
    each signing from its ``active_from``; ``kid`` is chosen at signing time, so a rotation
    published ahead of its activation switches every process at the same instant. A key's
    ``retired_at`` bounds the ``iat`` of the tokens it may verify (see tokens.verify_token).
    """

    __slots__ = ("_public", "_retired", "_signers", "_verifiers")

    def __init__(
        self,
        private_key: ec.EllipticCurvePrivateKey,
        previous: Iterable[ec.EllipticCurvePublicKey] = (),
        *,
        scheduled: Iterable[tuple[int, ec.EllipticCurvePrivateKey]] = (),
        retired: Mapping[str, int] | None = None,
    ) -> None:
        """Wrap ``private_key`` (current) and ``previous`` (verification-only) keys.

        ``scheduled`` adds ``(active_from, key)`` signers that take over from their time;
        ``retired`` maps a kid to the epoch second it was retired. Raises WeakKey if any key
        is not on P-256.
        """
        require_p256(private_key, "current key")
        signers = [(0, private_key), *scheduled]
        self._signers: list[tuple[int, str, Key]] = []
        self._public: dict[str, ec.EllipticCurvePublicKey] = {}
        for active_from, key in sorted(signers, key=lambda pair: pair[0]):
            require_p256(key, "scheduled key")
            kid = jwk_thumbprint(key.public_key())
            self._signers.append((active_from, kid, CryptographyECKey(key, ALGORITHM)))
            self._public[kid] = key.public_key()
        for public_key in previous:
            require_p256(public_key, "previous key")
            self._public.setdefault(jwk_thumbprint(public_key), public_key)
        self._retired: dict[str, int] = dict(retired or {})
        # Built once so the hot path never parses key material.
        self._verifiers: dict[str, Key] = {
            kid: CryptographyECKey(pub, ALGORITHM) for kid, pub in self._public.items()
        }

    def _signer(self, now: float | None = None) -> tuple[str, Key]:
        moment = time.time() if now is None else now
        chosen = self._signers[0]
        for signer in self._signers:
            if signer[0] <= moment:
                chosen = signer
        return chosen[1], chosen[2]

    @property
    def kid(self) -> str:
        """Key id (RFC 7638 thumbprint) of the key that signs now."""
        return self._signer()[0]

    @property
    def public_keys(self) -> Mapping[str, ec.EllipticCurvePublicKey]:
        """Every verification public key by kid, current key included."""
        return dict(self._public)

    def verification_key(self, kid: str) -> Key | None:
        """The python-jose public key registered under ``kid``, or None if unknown."""
        return self._verifiers.get(kid)

    def retired_at(self, kid: str) -> int | None:
        """When ``kid`` was retired (epoch seconds), or None while it is not."""
        return self._retired.get(kid)

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """JWK Set of all verification keys: public coordinates only, never ``d``."""
        keys = []
        for kid, public_key in self._public.items():
            jwk = public_jwk(public_key)
            jwk.update(kid=kid, alg=ALGORITHM, use="sig")
            keys.append(jwk)
        return {"keys": keys}

    def sign(self, claims: Mapping[str, Any], now: float | None = None) -> str:
        """Sign ``claims`` as a compact ES256 JWT whose header names the key signing now."""
        kid, key = self._signer(now)
        # jwt.encode rewrites datetime claims in place; never touch the caller's mapping.
        return jwt.encode(
            dict(claims), key, algorithm=ALGORITHM, headers={"kid": kid, "typ": "JWT"}
        )

    @classmethod
    def from_records(cls, records: Iterable[KeyRecord]) -> SigningKeys:
        """Keys from ``signing_key`` rows: those given a private key sign from their
        ``active_from`` (the newest active one signs), every one verifies. Raises WeakKey
        when no record can sign."""
        rows = sorted(records, key=lambda r: r.active_from)
        usable: list[tuple[int, ec.EllipticCurvePrivateKey]] = []
        for r in rows:
            if r.private_key is not None:
                usable.append((r.active_from, r.private_key))
        if not usable:
            raise WeakKey("no signing key in the database can sign")
        (_, first), *rest = usable
        return cls(
            first,
            [r.public_key for r in rows],
            scheduled=rest,
            retired={r.kid: r.retired_at for r in rows if r.retired_at is not None},
        )

    @classmethod
    def load_or_create(cls, key_file: Path) -> SigningKeys:
        """Load the key file plus its ``.previous-*.pem`` siblings, creating the key if missing.

        Raises WeakKey if any file holds something other than an unencrypted EC P-256 key.
        """
        key_file = Path(key_file)
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            created = write_atomic(key_file, private_pem(_new_private_key()), 0o600, clobber=False)
            if created:
                log.warning("created new JWT signing key %s", key_file)
        # Re-read from disk even after creating: racing processes then all use the winner's key.
        return cls(load_private_key(key_file), load_previous_keys(key_file))

    @staticmethod
    def rotate(key_file: Path) -> str:
        """Retire the current key to ``<key_file>.previous-<kid>.pem``; install a new key.

        Only the public half is kept in the previous file. Returns the new kid. Processes that
        already loaded the keys keep signing with the old key until they reload.
        """
        key_file = Path(key_file)
        old = load_private_key(key_file)
        old_public = old.public_key()
        retired = key_file.with_name(f"{key_file.name}.previous-{jwk_thumbprint(old_public)}.pem")
        # Publish the old public key before replacing the private one, so no instant exists
        # at which tokens signed by the old key are unverifiable. Public, but still 0600:
        # every key file the product creates is (SPEC §8 "Files").
        write_atomic(retired, public_pem_bytes(old_public), 0o600, clobber=True)
        new = _new_private_key()
        write_atomic(key_file, private_pem(new), 0o600, clobber=True)
        return jwk_thumbprint(new.public_key())


def _new_private_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())
