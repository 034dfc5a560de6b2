"""Writing one batch of valid import rows: subjects, flags, their events, the new answers.

A batch costs a fixed handful of statements whatever its size: one SELECT of the
fingerprints already imported, one SELECT of the known subjects, one multi-row INSERT of
the new ones, one SELECT of the earlier flags of the known subjects, and one flush that
inserts the flags and every change event and updates the subjects and the registry head.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.repository import EventWriter
from app.auth.actor import Actor
from app.auth.scopes import OrgKind
from app.flags.service import flag_read
from app.identifiers.normalise import Subject as Identifier
from app.imports.rows import PreparedRow
from app.models import Flag, Organisation, RegistryHead, Subject
from app.subjects.service import rederive

# The table itself: an ORM-enabled insert(Subject) goes back to one statement per row.
_SUBJECTS = cast(Table, Subject.__table__)


class _DeferredFlush:
    """What the import's :class:`EventWriter` sees as its session.

    ``EventWriter.append`` flushes after every event, which costs two statements per event
    (INSERT the event, UPDATE the head). The import flushes once per batch instead; the
    chain itself (seq, prev_hash, hash, head) is still built by ``append``, unchanged.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, instance: object) -> None:
        self._session.add(instance)

    async def flush(self) -> None:
        return None


def batch_event_writer(session: AsyncSession, head: RegistryHead, actor: Actor) -> EventWriter:
    """An EventWriter on an already locked head whose events wait for the batch flush."""
    return EventWriter(cast(AsyncSession, _DeferredFlush(session)), head, actor)


def _new_subject(ident: Identifier) -> dict[str, Any]:
    return {
        "key": ident.key,
        "kind": ident.kind,
        "institution": ident.institution,
        "identifier": ident.identifier,
        "risk_level": 0,
        "categories": [],
        "under_dispute": False,
        "version": 0,
    }


class BatchWriter:
    """Writes batches for one organisation inside one write transaction."""

    def __init__(
        self, session: AsyncSession, events: EventWriter, org: Organisation, *, ttl_days: float
    ) -> None:
        self.session = session
        self.events = events
        self.org = org
        self.police = org.kind == OrgKind.POLICE
        # Police reports start confirmed and never expire, as in create_flag.
        self.status = "confirmed" if self.police else "reported"
        self.expires_at = None if self.police else events.now + timedelta(days=ttl_days)

    async def write(self, rows: Sequence[PreparedRow]) -> int:
        """Flag every row not imported before (by fingerprint); returns how many were."""
        fresh = await self._not_yet_imported(rows)
        if not fresh:
            return 0
        by_key: dict[str, list[PreparedRow]] = {}
        for row in fresh:
            by_key.setdefault(row.subject.key, []).append(row)
        subjects, known = await self._subjects(by_key)
        earlier = await self._flags_of(known)
        for key, group in by_key.items():
            subject = subjects[key]
            flags = [await self._flag(subject, row) for row in group]
            await rederive(self.events, subject, [*earlier.get(subject.id, ()), *flags])
        await self.session.flush()
        # The writer keeps every event it appended; over a million rows that is the memory.
        self.events.appended.clear()
        return len(fresh)

    async def _not_yet_imported(self, rows: Iterable[PreparedRow]) -> list[PreparedRow]:
        # Earlier batches of this file are flushed by now, so this one query also catches
        # repeats across batches; repeats within the batch are dropped by the dict.
        unique: dict[str, PreparedRow] = {}
        for row in rows:
            unique.setdefault(row.fingerprint, row)
        stmt = select(Flag.import_fingerprint).where(
            Flag.organisation_id == self.org.id, Flag.import_fingerprint.in_(unique)
        )
        seen = set((await self.session.execute(stmt)).scalars())
        return [row for digest, row in unique.items() if digest not in seen]

    async def _subjects(
        self, by_key: dict[str, list[PreparedRow]]
    ) -> tuple[dict[str, Subject], list[int]]:
        """Every subject of the batch, the missing ones inserted; and the ids already known."""
        subjects = await self._load_subjects(by_key)
        known = [s.id for s in subjects.values()]
        missing = [group[0].subject for key, group in by_key.items() if key not in subjects]
        if missing:
            # A Core multi-row INSERT and a SELECT back: an ORM add_all would need the new
            # ids RETURNed, which SQLite does one row per statement.
            await self.session.execute(insert(_SUBJECTS), [_new_subject(i) for i in missing])
            subjects.update(await self._load_subjects([i.key for i in missing]))
        return subjects, known

    async def _load_subjects(self, keys: Iterable[str]) -> dict[str, Subject]:
        stmt = select(Subject).where(Subject.key.in_(list(keys)))
        return {s.key: s for s in (await self.session.execute(stmt)).scalars()}

    async def _flags_of(self, subject_ids: list[int]) -> dict[int, list[Flag]]:
        out: dict[int, list[Flag]] = {}
        if subject_ids:
            stmt = select(Flag).where(Flag.subject_id.in_(subject_ids))
            for flag in (await self.session.execute(stmt)).scalars():
                out.setdefault(flag.subject_id, []).append(flag)
        return out

    async def _flag(self, subject: Subject, row: PreparedRow) -> Flag:
        now, data = self.events.now, row.data
        flag = Flag(
            id=str(uuid.uuid4()),
            subject_id=subject.id,
            organisation_id=self.org.id,
            status=self.status,
            category=data.category,
            description=data.description,
            amount_lost_vnd=data.amount_lost_vnd,
            case_reference=data.case_reference,
            holder_name=row.holder_name,
            import_fingerprint=row.fingerprint,
            version=1,
            created_at=now,
            updated_at=now,
            expires_at=self.expires_at,
        )
        self.session.add(flag)
        await self.events.append(
            entity_type="flag",
            entity_id=flag.id,
            entity_version=1,
            action=flag.status,
            state=flag_read(flag, subject, self.org).model_dump(mode="json"),
            subject_key=subject.key,
        )
        return flag
