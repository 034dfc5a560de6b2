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

import binascii
import dataclasses
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.checkpoint_keys import (
    ALGORITHM,
    JWS_TYPE,
    CheckpointError,
    _b64url,
    _b64url_decode,
    _es256_valid,
    _timestamp,
    canonical_json,
    checkpoint_jwks,
    configured_public_keys,
    key_id,
    load_or_create_private_key,
    load_public_keys,
    public_pem,
    sign_fields,
)
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
# The claims `typ` of the bare compact JWS that older releases wrote.
_LEGACY_TYP = "registry-checkpoint"
_HASH = re.compile(r"[0-9a-f]{64}")

# Statuses of a checked checkpoint.
OK = "ok"
BAD_SIGNATURE = "bad-signature"
TRUNCATED = "truncated"
REWRITTEN = "rewritten"
BROKEN = "broken"


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
