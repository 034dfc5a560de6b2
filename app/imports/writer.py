"""Writing one batch of valid import rows: subjects, flags, their events, the new answers.

A batch costs a fixed handful of statements whatever its size: one SELECT of the
fingerprints already imported, one SELECT of the known subjects, one multi-row INSERT of
the new ones, one SELECT of the earlier flags of the known subjects, one multi-row INSERT
of the flags and one of the change events, and one flush that updates the subjects and
the registry head.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import Table, insert, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.repository import BulkEventWriter
from app.auth.actor import Actor
from app.auth.scopes import OrgKind
from app.flags.service import flag_read
from app.identifiers.normalise import Subject as Identifier
from app.imports.rows import PreparedRow
from app.models import ChangeEvent, Flag, Organisation, RegistryHead, Subject
from app.subjects.service import rederive

# The tables themselves: an ORM-enabled insert goes back to one statement per row, and an
# ORM flush costs tens of microseconds per object; Core executemany costs a few.
_SUBJECTS = cast(Table, Subject.__table__)
_FLAGS = cast(Table, Flag.__table__)
_EVENTS = cast(Table, ChangeEvent.__table__)
_FLAG_COLUMNS = [(attr.key, attr.columns[0].name) for attr in inspect(Flag).column_attrs]


def batch_event_writer(session: AsyncSession, head: RegistryHead, actor: Actor) -> BulkEventWriter:
    """An event writer on an already locked head whose rows wait for the batch's INSERT."""
    return BulkEventWriter(session, head, actor)


def _flag_row(flag: Flag) -> dict[str, Any]:
    return {column: getattr(flag, attribute) for attribute, column in _FLAG_COLUMNS}


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
        self,
        session: AsyncSession,
        events: BulkEventWriter,
        org: Organisation,
        *,
        ttl_days: float,
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
        # New flags stay transient ORM objects (rederive and flag_read read them) and are
        # written below as plain rows, in the order the events name them.
        new_flags: list[Flag] = []
        for key, group in by_key.items():
            subject = subjects[key]
            flags = [await self._flag(subject, row) for row in group]
            new_flags.extend(flags)
            await rederive(self.events, subject, [*earlier.get(subject.id, ()), *flags])
        await self.session.execute(insert(_FLAGS), [_flag_row(f) for f in new_flags])
        await self.session.execute(insert(_EVENTS), self.events.take())
        await self.session.flush()  # the subjects' new answers and the registry head
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
        await self.events.append(
            entity_type="flag",
            entity_id=flag.id,
            entity_version=1,
            action=flag.status,
            state=flag_read(flag, subject, self.org).model_dump(mode="json"),
            subject_key=subject.key,
        )
        return flag
