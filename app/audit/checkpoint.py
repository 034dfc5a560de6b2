"""Signed checkpoints of the chain head, with a key kept outside the database (SPEC §8).

An auditor keeps a checkpoint file and the checkpoint public key. Whoever rewrites the whole
chain consistently cannot also forge the signature, so the kept checkpoint no longer matches
the chain at its ``head_seq``; whoever deletes the tail leaves a chain shorter than it.

The checkpoint file is one JSON object with exactly these fields::

    {"head_seq": 42, "head_hash": "<64 hex>", "created_at": "2026-12-02T06:30:00Z",
     "kid": "<RFC 7638 thumbprint>", "signature": "<protected header>..<signature>"}

What is signed: the *canonical JSON* of the four other fields, that is
``json.dumps({"created_at", "head_hash", "head_seq", "kid"}, sort_keys=True,
separators=(",", ":"), ensure_ascii=False)`` encoded as UTF-8, with no trailing newline.
``signature`` is a compact JWS with a detached payload (RFC 7515 appendix F): the payload
part is left empty, and the signing input is ``BASE64URL(header) + "." +
BASE64URL(canonical JSON)``. The header is ``{"alg": "ES256", "kid": ..., "typ":
"registry-checkpoint+jws"}``; ``kid`` in the header and in the document must be equal and
must be the RFC 7638 JWK thumbprint of the public key. Any JOSE library verifies it once the
base64url canonical JSON is put back between the two dots.

The checkpoint key is an EC P-256 private key in an unencrypted PKCS8 PEM file, mode 0600,
created by the first ``registry audit checkpoint`` and by nothing else. Checking a
checkpoint needs only the public key (PEM, or the JWKS of ``GET /v1/audit/checkpoint-keys``).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
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
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.verify import hash_at, verify_chain
from app.models import ChangeEvent, RegistryHead
from app.models.registry_head import GENESIS_HASH

__all__ = [
    "DOCUMENT_FIELDS",
    "JWS_TYPE",
    "SIGNED_FIELDS",
    "Checkpoint",
    "CheckpointCheck",
    "CheckpointError",
    "canonical_json",
    "check_checkpoint",
    "checkpoint_jwks",
    "configured_public_keys",
    "key_id",
    "load_public_keys",
    "make_checkpoint",
    "parse_checkpoint",
    "public_pem",
]

log = logging.getLogger(__name__)

SIGNED_FIELDS = ("head_seq", "head_hash", "created_at", "kid")
DOCUMENT_FIELDS = (*SIGNED_FIELDS, "signature")
JWS_TYPE = "registry-checkpoint+jws"
ALGORITHM = "ES256"
# The claims `typ` of the bare compact JWS that older releases wrote.
_LEGACY_TYP = "registry-checkpoint"
_COORD_BYTES = 32
_MAX_FILE_BYTES = 64 * 1024
_HASH = re.compile(r"[0-9a-f]{64}")
_B64URL = re.compile(r"[A-Za-z0-9_-]*")

# Statuses of a checked checkpoint.
OK = "ok"
BAD_SIGNATURE = "bad-signature"
TRUNCATED = "truncated"
REWRITTEN = "rewritten"
BROKEN = "broken"


class CheckpointError(ValueError):
    """A checkpoint file or key file that cannot be used: the message says why."""


@dataclass(frozen=True)
class Checkpoint:
    head_seq: int
    head_hash: str
    created_at: str
    kid: str
    signature: str
    # The whole compact JWS when read from an older, bare-JWS checkpoint file.
    legacy_token: str | None = None

    def signed_fields(self) -> dict[str, Any]:
        return {
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "created_at": self.created_at,
            "kid": self.kid,
        }

    def document(self) -> dict[str, Any]:
        """The JSON document written to the checkpoint file."""
        return {**self.signed_fields(), "signature": self.signature}


@dataclass(frozen=True)
class CheckpointCheck:
    ok: bool
    seq: int
    status: str
    reason: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "seq": self.seq, "status": self.status, "reason": self.reason}


# --- encoding ---------------------------------------------------------------------------


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


def _public_jwk(public_key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    point = public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    x, y = point[1 : 1 + _COORD_BYTES], point[1 + _COORD_BYTES :]
    return {"crv": "P-256", "kty": "EC", "x": _b64url(x), "y": _b64url(y)}


def key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url) of the public key: the checkpoint kid."""
    return _b64url(hashlib.sha256(canonical_json(_public_jwk(public_key))).digest())


def public_pem(public_key: ec.EllipticCurvePublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def checkpoint_jwks(public_keys: Mapping[str, ec.EllipticCurvePublicKey]) -> dict[str, Any]:
    """JWK Set of the checkpoint public keys (coordinates only, never ``d``)."""
    keys = []
    for kid, public_key in public_keys.items():
        keys.append({**_public_jwk(public_key), "kid": kid, "alg": ALGORITHM, "use": "sig"})
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


async def make_checkpoint(
    session: AsyncSession, key_file: Path, *, now: datetime | None = None
) -> Checkpoint:
    """Verify the chain, then sign its head (creating the key file on first use)."""
    result = await verify_chain(session)
    if not result.ok:
        raise RuntimeError(f"chain does not verify at seq {result.first_bad_seq}; not signing")
    private_key = load_or_create_private_key(key_file)
    unsigned = Checkpoint(
        head_seq=result.head_seq,
        head_hash=result.head_hash,
        created_at=_timestamp(now or datetime.now(UTC)),
        kid=key_id(private_key.public_key()),
        signature="",
    )
    signature = sign_fields(private_key, unsigned.signed_fields())
    return dataclasses.replace(unsigned, signature=signature)


# --- reading ----------------------------------------------------------------------------


def parse_checkpoint(text: str) -> Checkpoint:
    """A checkpoint from its file's text; CheckpointError says what is wrong with it."""
    stripped = text.strip()
    if not stripped:
        raise CheckpointError("the checkpoint file is empty")
    try:
        document = json.loads(stripped)
    except ValueError:
        if stripped.startswith("{"):
            raise CheckpointError("not a checkpoint: the file is not valid JSON") from None
        if stripped.count(".") == 2:
            return _parse_legacy(stripped)
        raise CheckpointError("not a checkpoint: the file is not a JSON document") from None
    if not isinstance(document, dict):
        raise CheckpointError("not a checkpoint: expected a JSON object")
    missing = [name for name in DOCUMENT_FIELDS if name not in document]
    if missing:
        raise CheckpointError(f"not a checkpoint: missing field(s) {', '.join(missing)}")
    unknown = sorted(set(document) - set(DOCUMENT_FIELDS))
    if unknown:
        raise CheckpointError(f"not a checkpoint: unknown field(s) {', '.join(unknown)}")
    seq = document["head_seq"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise CheckpointError("not a checkpoint: head_seq must be a non-negative integer")
    if not isinstance(document["head_hash"], str) or not _HASH.fullmatch(document["head_hash"]):
        raise CheckpointError("not a checkpoint: head_hash must be 64 lower-case hex digits")
    created_at = document["created_at"]
    if not isinstance(created_at, str) or not _is_timestamp(created_at):
        raise CheckpointError("not a checkpoint: created_at must be an RFC 3339 UTC time")
    for name in ("kid", "signature"):
        if not isinstance(document[name], str) or not document[name]:
            raise CheckpointError(f"not a checkpoint: {name} must be a non-empty string")
    return Checkpoint(
        head_seq=seq,
        head_hash=document["head_hash"],
        created_at=created_at,
        kid=document["kid"],
        signature=document["signature"],
    )


def _is_timestamp(value: str) -> bool:
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def _parse_legacy(token: str) -> Checkpoint:
    """The bare compact JWS of older releases (claims ``typ``, ``seq``, ``hash``,
    ``signed_at``); its signature is checked like the detached one."""
    try:
        header_b64, claims_b64, signature = token.split(".")
        header = json.loads(_b64url_decode(header_b64))
        claims = json.loads(_b64url_decode(claims_b64))
        if claims.get("typ") != _LEGACY_TYP:
            raise ValueError("not a checkpoint token")
        seq, digest, kid = claims["seq"], claims["hash"], header["kid"]
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise ValueError("bad seq")
        if not isinstance(digest, str) or not _HASH.fullmatch(digest) or not isinstance(kid, str):
            raise ValueError("bad hash or kid")
        created_at = _timestamp(datetime.fromtimestamp(int(claims["signed_at"]), UTC))
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError, binascii.Error):
        raise CheckpointError(
            "not a checkpoint: neither a JSON checkpoint document nor an older signed token"
        ) from None
    return Checkpoint(seq, digest, created_at, kid, signature, legacy_token=token)


def signature_problem(
    checkpoint: Checkpoint, public_keys: Mapping[str, ec.EllipticCurvePublicKey]
) -> str | None:
    """Why the signature does not hold for these public keys, or None when it does."""
    public_key = public_keys.get(checkpoint.kid)
    if public_key is None:
        known = ", ".join(sorted(public_keys)) or "none"
        return f"signed by key {checkpoint.kid}; the public key given is {known}"
    if checkpoint.legacy_token is not None:
        header_b64, payload_b64, sig = checkpoint.legacy_token.split(".")
    else:
        parts = checkpoint.signature.split(".")
        if len(parts) != 3 or parts[1]:
            return "signature is not a detached compact JWS (header..signature)"
        header_b64, sig = parts[0], parts[2]
        payload_b64 = _b64url(canonical_json(checkpoint.signed_fields()))
    try:
        header = json.loads(_b64url_decode(header_b64))
    except (ValueError, binascii.Error):
        return "signature header is not base64url JSON"
    if not isinstance(header, dict) or header.get("alg") != ALGORITHM or "crit" in header:
        return f"signature header must name alg {ALGORITHM} (and no crit)"
    if header.get("kid") != checkpoint.kid:
        return "signature header names another kid than the document"
    if not _es256_valid(public_key, f"{header_b64}.{payload_b64}".encode("ascii"), sig):
        return "signature does not verify with the public key"
    return None


async def check_checkpoint(
    session: AsyncSession,
    checkpoint: Checkpoint,
    public_keys: Mapping[str, ec.EllipticCurvePublicKey],
) -> CheckpointCheck:
    """Is the checkpoint signed by one of ``public_keys``, and does the chain, as stored
    now, still contain the signed head?

    ``bad-signature``: not signed by that key. ``truncated``: the chain ends before
    ``head_seq`` (or the registry head went back before it). ``rewritten``: the event at
    ``head_seq`` is not the signed one. ``broken``: the signed event is there but the events
    up to it no longer verify. ``ok``: none of these.
    """
    seq = checkpoint.head_seq
    problem = signature_problem(checkpoint, public_keys)
    if problem is not None:
        return CheckpointCheck(False, seq, BAD_SIGNATURE, problem)
    if seq == 0:
        if checkpoint.head_hash != GENESIS_HASH:
            return CheckpointCheck(False, 0, REWRITTEN, "seq 0 must carry the genesis hash")
        return CheckpointCheck(True, 0, OK, None)
    last = (await session.execute(select(func.max(ChangeEvent.seq)))).scalar_one_or_none()
    head = (await session.execute(select(RegistryHead.seq))).scalar_one()
    if last is None or last < seq:
        return CheckpointCheck(
            False,
            seq,
            TRUNCATED,
            f"the chain ends at seq {last or 0} (registry head {head}), "
            f"before the checkpoint's seq {seq}",
        )
    stored = await hash_at(session, seq)
    if stored != checkpoint.head_hash:
        found = "no event" if stored is None else f"hash {stored}"
        return CheckpointCheck(
            False,
            seq,
            REWRITTEN,
            f"chain was rewritten: at seq {seq} the database has {found}, "
            f"the checkpoint signed {checkpoint.head_hash}",
        )
    chain = await verify_chain(session, up_to=seq)
    if not chain.ok:
        return CheckpointCheck(
            False, seq, BROKEN, f"chain broken at seq {chain.first_bad_seq}: {chain.reason}"
        )
    if head < seq:
        return CheckpointCheck(
            False, seq, TRUNCATED, f"the registry head ({head}) is before the checkpoint's seq"
        )
    return CheckpointCheck(True, seq, OK, None)
