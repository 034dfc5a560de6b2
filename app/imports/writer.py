"""Writing one batch of valid import rows: subjects, flags, their events, the new answers.

A batch costs a fixed handful of statements whatever its size: one SELECT of the
fingerprints already imported, one SELECT of the known subjects, one SELECT of their
earlier flags, one bulk INSERT of the new subjects (their final answers included) and one
SELECT of their ids, one executemany UPDATE of the known subjects whose answer changed,
one bulk INSERT of the flags, one of the change events and one of the notifications they
cause (SPEC §11), and one flush of the registry head. Subjects and flags are plain rows
throughout (see ``derive``); a bulk INSERT is a COPY on PostgreSQL (see ``insert_rows``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import ARRAY, ColumnElement, Table, any_, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.repository import BulkEventWriter
from app.audit.vocabulary import Action, Change, EntityType
from app.auth.scopes import OrgKind
from app.flags.schemas import FlagStatus
from app.imports.derive import (
    SUBJECT_COLUMNS,
    FlagMaker,
    SubjectRecord,
    Timestamps,
    rederive_record,
)
from app.imports.rows import PreparedRow
from app.models import ChangeEvent, Flag, Organisation, Subject
from app.subjects.risk import ACTIVE_STATUSES, FlagFacts
from app.webhooks.outbox import NOTIFICATIONS, answer_messages

# The tables themselves: an ORM-enabled insert goes back to one statement per row, and an
# ORM flush costs tens of microseconds per object; Core executemany costs a few.
_SUBJECTS = cast(Table, Subject.__table__)
_FLAGS = cast(Table, Flag.__table__)
_EVENTS = cast(Table, ChangeEvent.__table__)
_CHANGED = ("risk_level", "categories", "first_flagged_at", "last_changed_at", "version")
# Bind names must differ from the column names that UPDATE ... SET names.
_UPDATE_SUBJECT = (
    update(_SUBJECTS)
    .where(_SUBJECTS.c.id == bindparam("b_id"))
    .values({name: bindparam(f"b_{name}") for name in _CHANGED})
)
_FACT_COLUMNS = ("subject_id", "status", "organisation_id", "category", "created_at")


@dataclass(frozen=True, slots=True)
class Written:
    """What one batch did: flags created, and rows left out because the organisation
    already holds an active flag on their subject."""

    created: int
    already_flagged: int


async def insert_rows(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    """A Core executemany INSERT; on PostgreSQL a COPY of the same values.

    The server spends tens of µs per row of an executemany (an executor run per row, on
    tables with several indexes); COPY is one run for the batch. Each value first goes through
    its column type's own bind processing, exactly as the INSERT would send it.
    """
    if not rows:
        return
    connection = await session.connection()
    dialect = connection.dialect
    if dialect.name != "postgresql":
        await session.execute(insert(table), rows)
        return
    names = list(rows[0])  # a column left out (a serial id) takes its default, as in INSERT
    processors = [
        (index, process)
        for index, name in enumerate(names)
        if (process := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
    ]
    take = itemgetter(*names)
    records = []
    for row in rows:
        values = list(take(row)) if len(names) > 1 else [take(row)]
        for index, process in processors:
            values[index] = process(values[index])
        records.append(tuple(values))
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    await driver.copy_records_to_table(table.name, records=records, columns=names)


class _Earlier:
    """The facts of a subject's flags already stored, and the first of their times."""

    __slots__ = ("facts", "first")

    def __init__(self) -> None:
        self.facts: list[FlagFacts] = []
        self.first: datetime | None = None


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
        police = org.kind == OrgKind.POLICE
        # Police reports start confirmed and never expire, as in create_flag.
        status = FlagStatus.CONFIRMED if police else FlagStatus.REPORTED
        expires_at = None if police else events.now + timedelta(days=ttl_days)
        self.flags = FlagMaker(org, status, events.now, expires_at)
        self.stamp = Timestamps()
        self.postgres: bool | None = None  # known at the first write
        # The notifications the new answers cause (SPEC §11), written in bulk with them.
        self.messages: list[dict[str, Any]] = []

    async def write(self, rows: Sequence[PreparedRow]) -> Written:
        """Flag every row not imported before (by fingerprint) whose subject the
        organisation does not already hold an active flag on."""
        if self.postgres is None:
            self.postgres = (await self.session.connection()).dialect.name == "postgresql"
        fresh = await self._not_yet_imported(rows)
        if not fresh:
            return Written(0, 0)
        # One active flag per organisation and subject (SPEC §8): the first row of a
        # subject in the file is flagged, later ones (other categories) are left out.
        by_key: dict[str, PreparedRow] = {}
        for row in fresh:
            by_key.setdefault(row.subject.key, row)
        subjects = await self._load_subjects(by_key)
        earlier = await self._flags_of([s.id for s in subjects.values() if s.id is not None])
        flag_rows: list[tuple[SubjectRecord, dict[str, Any]]] = []
        for key, row in by_key.items():
            subject = subjects.get(key)
            before = None if subject is None or subject.id is None else earlier.get(subject.id)
            if before is not None and self._holds_active(before):
                continue
            if subject is None:
                subject = subjects[key] = SubjectRecord.new(row.subject)
            flag_rows.append((subject, self._flag(subject, row)))
            self._rederive(subject, [row], before)
        await self._store_subjects(subjects.values())
        flags = []
        for subject, flag in flag_rows:
            flag["subject_id"] = subject.id
            flags.append(flag)
        await insert_rows(self.session, _FLAGS, flags)
        await insert_rows(self.session, _EVENTS, self.events.take())
        messages, self.messages = self.messages, []
        await insert_rows(self.session, NOTIFICATIONS, messages)
        await self.session.flush()  # the registry head
        return Written(len(flags), len(fresh) - len(flags))

    def _holds_active(self, earlier: _Earlier) -> bool:
        org_id = self.flags.org_id
        return any(
            f.organisation_id == org_id and f.status in ACTIVE_STATUSES for f in earlier.facts
        )

    def _among(self, column: ColumnElement[Any], values: list[Any]) -> ColumnElement[bool]:
        """``column IN (values)``; on PostgreSQL ``= ANY(array)``: one parameter instead of
        thousands, whose per-value expansion cost 5% of the import's time."""
        if not self.postgres:
            return column.in_(values)
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))

    async def _not_yet_imported(self, rows: Iterable[PreparedRow]) -> list[PreparedRow]:
        # Earlier batches of this file are written by now, so this one query also catches
        # repeats across batches; repeats within the batch are dropped by the dict.
        unique: dict[str, PreparedRow] = {}
        for row in rows:
            unique.setdefault(row.fingerprint, row)
        digest = _FLAGS.c.import_fingerprint
        stmt = select(digest).where(
            _FLAGS.c.organisation_id == self.org.id, self._among(digest, list(unique))
        )
        seen = set((await self.session.execute(stmt)).scalars())
        return [row for digest, row in unique.items() if digest not in seen]

    async def _load_subjects(self, keys: Iterable[str]) -> dict[str, SubjectRecord]:
        columns = [_SUBJECTS.c[name] for name in SUBJECT_COLUMNS]
        stmt = select(*columns).where(self._among(_SUBJECTS.c.key, list(keys)))
        result = await self.session.execute(stmt)
        return {row.key: SubjectRecord(*row) for row in result}

    async def _flags_of(self, subject_ids: list[int]) -> dict[int, _Earlier]:
        out: dict[int, _Earlier] = {}
        if subject_ids:
            columns = [_FLAGS.c[name] for name in _FACT_COLUMNS]
            stmt = select(*columns).where(self._among(_FLAGS.c.subject_id, subject_ids))
            for subject_id, status, org_id, category, created in await self.session.execute(stmt):
                earlier = out.setdefault(subject_id, _Earlier())
                earlier.facts.append(FlagFacts(status, org_id, category))
                if earlier.first is None or created < earlier.first:
                    earlier.first = created
        return out

    def _flag(self, subject: SubjectRecord, row: PreparedRow) -> dict[str, Any]:
        flag = self.flags.row(subject.id, row)
        self.events.add(
            Change(
                entity_type=EntityType.FLAG,
                entity_id=flag["id"],
                entity_version=1,
                action=Action(self.flags.status),
                state=self.flags.state(flag, subject),
                subject_key=subject.key,
            )
        )
        return flag

    def _rederive(
        self, subject: SubjectRecord, group: list[PreparedRow], earlier: _Earlier | None
    ) -> None:
        status, org_id = self.flags.status, self.flags.org_id
        new = [FlagFacts(status, org_id, row.data.category) for row in group]
        now = self.events.now
        level, version = subject.risk_level, subject.version
        if earlier is None:
            rederive_record(self.events, subject, new, now, self.stamp)
        else:
            first = now if earlier.first is None else min(earlier.first, now)
            rederive_record(self.events, subject, [*earlier.facts, *new], first, self.stamp)
        if subject.version != version:  # the answer changed: the last row is its event
            event = self.events.rows[-1]
            self.messages.extend(answer_messages(event["seq"], event["state"], level, now))

    async def _store_subjects(self, subjects: Iterable[SubjectRecord]) -> None:
        """Insert the new subjects as they now stand (ids back), update the changed ones."""
        new, changed = [], []
        for subject in subjects:
            if subject.id is None:
                new.append(subject)
            elif subject.dirty:
                changed.append({f"b_{name}": getattr(subject, name) for name in _CHANGED})
                changed[-1]["b_id"] = subject.id
            subject.dirty = False
        if new:
            # Written and read back by key: cheaper than INSERT ... RETURNING row by row.
            await insert_rows(self.session, _SUBJECTS, [s.row() for s in new])
            stmt = select(_SUBJECTS.c.key, _SUBJECTS.c.id).where(
                self._among(_SUBJECTS.c.key, [s.key for s in new])
            )
            ids: dict[str, int] = {key: id_ for key, id_ in await self.session.execute(stmt)}
            for subject in new:
                subject.id = ids[subject.key]
        if changed:
            await self.session.execute(_UPDATE_SUBJECT, changed)
