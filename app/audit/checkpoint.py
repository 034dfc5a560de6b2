"""Signed checkpoints of the chain head, with a key kept outside the database.

An auditor keeps the checkpoint (a compact JWS over ``seq`` and ``hash``). Whoever rewrites
the whole chain consistently cannot also forge the signature, so the kept checkpoint no
longer matches the chain at its ``seq``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from jose import jws
from jose.exceptions import JOSEError
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.verify import hash_at, verify_chain
from app.auth.keys import SigningKeys


@dataclass(frozen=True)
class CheckpointCheck:
    ok: bool
    seq: int
    reason: str | None


async def make_checkpoint(session: AsyncSession, key_file: Path) -> tuple[str, int, str]:
    """Verify the chain, then sign its head; returns (checkpoint, seq, hash)."""
    result = await verify_chain(session)
    if not result.ok:
        raise RuntimeError(f"chain does not verify at seq {result.first_bad_seq}; not signing")
    keys = SigningKeys.load_or_create(key_file)
    token = keys.sign(
        {
            "typ": "registry-checkpoint",
            "seq": result.head_seq,
            "hash": result.head_hash,
            "signed_at": int(time.time()),
        }
    )
    return token, result.head_seq, result.head_hash


async def check_checkpoint(session: AsyncSession, key_file: Path, token: str) -> CheckpointCheck:
    """Does the chain, as stored now, still contain the signed head?"""
    keys = SigningKeys.load_or_create(key_file)
    try:
        header = jws.get_unverified_header(token)
        key = keys.verification_key(str(header.get("kid")))
        if key is None or header.get("alg") != "ES256":
            return CheckpointCheck(False, 0, "checkpoint not signed by a known checkpoint key")
        claims = json.loads(jws.verify(token, key, algorithms=["ES256"]))
        seq, expected = int(claims["seq"]), str(claims["hash"])
    except (JOSEError, ValueError, KeyError, TypeError):
        return CheckpointCheck(False, 0, "checkpoint signature or content is invalid")
    chain = await verify_chain(session, up_to=seq)
    if not chain.ok:
        return CheckpointCheck(False, seq, f"chain broken at seq {chain.first_bad_seq}")
    if await hash_at(session, seq) != expected:
        return CheckpointCheck(False, seq, "chain was rewritten: hash at seq differs")
    return CheckpointCheck(True, seq, None)
