"""The checkpoint key: loading, creating (0600, only by ``registry audit checkpoint``),
exporting, and ES256 signatures in JOSE form. See ``app.audit.checkpoint`` for the format."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from app.auth.keys import jwk_thumbprint, public_jwk

ALGORITHM = "ES256"
JWS_TYPE = "registry-checkpoint+jws"
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_COORD_BYTES = 32
_MAX_FILE_BYTES = 64 * 1024

log = logging.getLogger(__name__)


class CheckpointError(ValueError):
    """A checkpoint file or key file that cannot be used: the message says why."""


def canonical_json(fields: Mapping[str, Any]) -> bytes:
    """The exact bytes that are signed: sorted keys, no whitespace, UTF-8."""
    return json.dumps(
        dict(fields), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    if not _B64URL.fullmatch(text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- keys -------------------------------------------------------------------------------


def key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url) of the public key: the checkpoint kid."""
    return jwk_thumbprint(public_key)  # the same thumbprint as the token keys' kid


def public_pem(public_key: ec.EllipticCurvePublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def checkpoint_jwks(public_keys: Mapping[str, ec.EllipticCurvePublicKey]) -> dict[str, Any]:
    """JWK Set of the checkpoint public keys (coordinates only, never ``d``)."""
    keys = []
    for kid, public_key in public_keys.items():
        keys.append({**public_jwk(public_key), "kid": kid, "alg": ALGORITHM, "use": "sig"})
    return {"keys": keys}


def _require_p256(key: object, source: str) -> None:
    if not isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        raise CheckpointError(f"{source}: not an EC key; checkpoints are signed with EC P-256")
    if not isinstance(key.curve, ec.SECP256R1):
        raise CheckpointError(f"{source}: EC curve {key.curve.name} is not P-256")


def _read_small(path: Path, what: str) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such {what}") from None
    except IsADirectoryError:
        raise CheckpointError(f"{path}: is a directory, not a {what}") from None
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read {what} ({exc.strerror or exc})") from None
    if len(data) > _MAX_FILE_BYTES:
        raise CheckpointError(f"{path}: larger than {_MAX_FILE_BYTES} bytes, not a {what}")
    return data


def _load_private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    data = _read_small(path, "checkpoint key file")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise CheckpointError(f"{path}: private key is encrypted; store it unencrypted") from None
    except (ValueError, UnsupportedAlgorithm):
        raise CheckpointError(f"{path}: not a PEM private key (EC P-256, PKCS8)") from None
    _require_p256(key, str(path))
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def _create_private_key(path: Path) -> None:
    """Write a new key to ``path`` (0600) unless it exists; atomic, never a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp_name, path)  # fails if another process created it meanwhile
        except FileExistsError:
            return
        log.warning("created new audit checkpoint key %s", path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)


def load_or_create_private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """The checkpoint signing key; only ``registry audit checkpoint`` may create it."""
    path = Path(path)
    if not path.exists():
        _create_private_key(path)
    return _load_private_key(path)


def configured_public_keys(key_file: Path) -> dict[str, ec.EllipticCurvePublicKey]:
    """The public half of the configured private key, by kid; empty when there is no key
    file. Never creates one."""
    key_file = Path(key_file)
    if not key_file.exists():
        return {}
    public_key = _load_private_key(key_file).public_key()
    return {key_id(public_key): public_key}


def _jwk_public_key(jwk: object) -> ec.EllipticCurvePublicKey:
    if not isinstance(jwk, dict) or jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise ValueError("not an EC P-256 JWK")
    x, y = _b64url_decode(str(jwk["x"])), _b64url_decode(str(jwk["y"]))
    if len(x) != _COORD_BYTES or len(y) != _COORD_BYTES:
        raise ValueError("bad coordinates")
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + x + y)


def load_public_keys(path: Path) -> dict[str, ec.EllipticCurvePublicKey]:
    """Public keys by kid from a PEM public key or a JWK Set (``/v1/audit/checkpoint-keys``)."""
    path = Path(path)
    data = _read_small(path, "public key file")
    if data.lstrip().startswith(b"{"):
        try:
            document = json.loads(data)
            keys = [_jwk_public_key(jwk) for jwk in document["keys"]]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise CheckpointError(f"{path}: not a JWK Set of EC P-256 keys") from None
        return {key_id(key): key for key in keys}
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise CheckpointError(f"{path}: not a PEM public key (EC P-256)") from None
    _require_p256(key, str(path))
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return {key_id(key): key}


# --- signing ----------------------------------------------------------------------------


def _sign_es256(private_key: ec.EllipticCurvePrivateKey, signing_input: bytes) -> str:
    r, s = decode_dss_signature(private_key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    return _b64url(r.to_bytes(_COORD_BYTES, "big") + s.to_bytes(_COORD_BYTES, "big"))


def _es256_valid(public_key: ec.EllipticCurvePublicKey, signing_input: bytes, sig: str) -> bool:
    try:
        raw = _b64url_decode(sig)
    except (ValueError, binascii.Error):
        return False
    if len(raw) != 2 * _COORD_BYTES:
        return False
    r = int.from_bytes(raw[:_COORD_BYTES], "big")
    s = int.from_bytes(raw[_COORD_BYTES:], "big")
    try:
        public_key.verify(encode_dss_signature(r, s), signing_input, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def sign_fields(private_key: ec.EllipticCurvePrivateKey, fields: Mapping[str, Any]) -> str:
    """The detached compact JWS over the canonical JSON of ``fields``."""
    header = _b64url(canonical_json({"alg": ALGORITHM, "kid": fields["kid"], "typ": JWS_TYPE}))
    signing_input = f"{header}.{_b64url(canonical_json(fields))}".encode("ascii")
    return f"{header}..{_sign_es256(private_key, signing_input)}"
