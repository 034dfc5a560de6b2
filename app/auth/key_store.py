"""Signing keys in the ``signing_key`` table, so every process signs with the same key.

Start-up adopts the key file's key as the first signing key when the table is empty (an
existing deployment keeps its ``kid``; tokens already issued stay valid). ``rotate`` adds a
new key that signs from ``now + publish_delay`` and retires the current one at that same
instant, as chained change events; every ``registry serve`` process polls the table
(``KeyFollower``) and so verifies the new key before any process signs with it, then all
switch at the activation time. Private keys are sealed with ``KeySeal`` (app.auth.keys).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.vocabulary import Action, Change, EntityType
from app.auth.keys import (
    KeyRecord,
    KeySeal,
    SigningKeys,
    WeakKey,
    jwk_thumbprint,
    load_public_pem,
    new_private_key,
    public_pem,
    read_private_key,
)
from app.db.engine import Database
from app.db.unit_of_work import UnitOfWork, unchained_write
from app.models import SigningKey

__all__ = ["KeyFollower", "key_state", "load_signing_keys", "open_seal", "rotate_signing_key"]

log = logging.getLogger(__name__)
Fingerprint = tuple[tuple[str, Any, Any], ...]


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def open_seal(key_file: Path) -> KeySeal:
    """The seal of ``key_file``, creating the key file (0600) when it is missing."""
    SigningKeys.load_or_create(key_file)
    return KeySeal.from_key_file(key_file)


def key_state(row: SigningKey) -> dict[str, object]:
    """What a change event records of a key: everything but the (sealed) private key."""
    return {
        "kid": row.kid,
        "public_key": row.public_key,
        "created_at": row.created_at.isoformat(),
        "active_from": row.active_from.isoformat(),
        "retired_at": row.retired_at.isoformat() if row.retired_at else None,
    }


def _records(rows: Sequence[SigningKey], seal: KeySeal, now: datetime) -> list[KeyRecord]:
    records = []
    for row in rows:
        # Only keys that may still sign are opened; a retired key only verifies.
        signs = row.retired_at is None or row.retired_at > now
        records.append(
            KeyRecord(
                kid=row.kid,
                public_key=load_public_pem(row.public_key),
                private_key=seal.open(row.kid, row.private_key) if signs else None,
                active_from=_epoch(row.active_from),
                retired_at=_epoch(row.retired_at) if row.retired_at else None,
            )
        )
    return records


async def _rows(session: AsyncSession) -> Sequence[SigningKey]:
    return (await session.execute(select(SigningKey))).scalars().all()


def _new_row(
    seal: KeySeal, key: ec.EllipticCurvePrivateKey, created_at: datetime, active_from: datetime
) -> SigningKey:
    kid = jwk_thumbprint(key.public_key())
    return SigningKey(
        kid=kid,
        public_key=public_pem(key.public_key()),
        private_key=seal.seal(kid, key),
        created_at=created_at,
        active_from=active_from,
        retired_at=None,
    )


async def load_signing_keys(db: Database, key_file: Path) -> SigningKeys:
    """The keys in the database, adopting the key file's key first if there are none."""
    seal = open_seal(key_file)
    async with db.read_session() as session:
        rows = await _rows(session)
    if not rows:
        await _adopt_key_file(db, seal, key_file)
        async with db.read_session() as session:
            rows = await _rows(session)
    return SigningKeys.from_records(_records(rows, seal, datetime.now(UTC)))


async def _adopt_key_file(db: Database, seal: KeySeal, key_file: Path) -> None:
    key = read_private_key(Path(key_file))
    now = datetime.now(UTC)
    try:
        async with unchained_write(db) as session:
            if not await _rows(session):
                session.add(_new_row(seal, key, now, datetime.fromtimestamp(0, UTC)))
    except IntegrityError:  # another process adopted the same key file meanwhile
        log.info("signing key already adopted by another process")
    else:
        log.warning("adopted %s as the first signing key in the database", key_file)


async def rotate_signing_key(
    uow: UnitOfWork, key_file: Path, *, publish_delay: float
) -> tuple[SigningKey, list[SigningKey]]:
    """Add a new key signing from ``now + publish_delay``; retire the current one(s) then.

    Runs under the unit of work's write lock, so concurrent rotations serialise. Returns the
    new row and the rows it retired.
    """
    seal = open_seal(key_file)
    session = uow.session
    now = uow.now
    rows = await _rows(session)
    if not rows:
        adopted = _new_row(seal, read_private_key(Path(key_file)), now, now)
        adopted.active_from = datetime.fromtimestamp(0, UTC)
        session.add(adopted)
        await session.flush()
        await uow.record(_change(adopted, Action.CREATED))
        rows = [adopted]
    switch = now + timedelta(seconds=publish_delay)
    retired = []
    for row in rows:
        if row.retired_at is None or row.retired_at > switch:
            row.retired_at = switch
            retired.append(row)
    new = _new_row(seal, new_private_key(), now, switch)
    session.add(new)
    await session.flush()
    for row in retired:
        await uow.record(_change(row, Action.RETIRED))
    await uow.record(_change(new, Action.CREATED))
    return new, retired


def _change(row: SigningKey, action: Action) -> Change:
    return Change(
        entity_type=EntityType.SIGNING_KEY,
        entity_id=row.kid,
        entity_version=1 if row.retired_at is None else 2,
        action=action,
        state=key_state(row),
    )


class KeyFollower:
    """Polls ``signing_key`` and hands every change of the key set to ``on_change``."""

    def __init__(
        self,
        db: Database,
        key_file: Path,
        interval: float,
        on_change: Callable[[SigningKeys], None],
    ) -> None:
        self.db = db
        self.seal = open_seal(key_file)
        self.interval = interval
        self.on_change = on_change
        self._seen: Fingerprint | None = None

    async def poll(self) -> bool:
        """Read the table once; True when the keys changed (and ``on_change`` ran)."""
        async with self.db.read_session() as session:
            rows = await _rows(session)
        # Opened keys depend on time too: a key past its retirement stops being opened.
        now = datetime.now(UTC)
        seen = tuple(
            sorted((r.kid, r.retired_at, r.retired_at is None or r.retired_at > now) for r in rows)
        )
        if seen == self._seen:
            return False
        keys = SigningKeys.from_records(_records(rows, self.seal, now))
        self._seen = seen
        self.on_change(keys)
        return True

    async def run(self) -> None:
        while True:
            try:
                await self.poll()
            except asyncio.CancelledError:
                raise
            except WeakKey:
                log.error("signing keys in the database cannot be used", exc_info=True)
            except Exception:  # database briefly unavailable: keep the keys we have
                log.warning("signing-key poll failed", exc_info=True)
            await asyncio.sleep(self.interval)
