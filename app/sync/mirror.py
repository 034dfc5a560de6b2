"""In-memory mirror of listed subjects and of client credentials' state.

The lookup and the token check read only this mirror, never the database. It is loaded at
start, then follows ``change_event`` (subject, client and organisation events) by polling
every ``index_poll_interval_seconds``; each process also refreshes right after its own
commits. ``synced_at`` records the last successful poll so the lookup can refuse to answer
(503) from a mirror older than ``index_max_staleness_seconds``: an ``allow`` is never given
for a subject whose flag committed more than that bound ago.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from app.audit.vocabulary import MIRRORED_ENTITIES, EntityType
from app.db.engine import Database
from app.models import ChangeEvent, Client, Organisation, RegistryHead, Subject
from app.sync.listing import UNLISTED, CategorySets, Listing, pack, pack_state, unpack

log = logging.getLogger(__name__)

_BATCH = 5000


@dataclass(frozen=True, slots=True)
class Principal:
    client_id: str
    org_id: int
    org_code: str
    org_kind: str
    institution: str | None
    scopes: frozenset[str]
    active: bool
    # Tokens issued (``iat``) before this second are refused. An organisation's row changes
    # only when it is deactivated or reactivated, so once it has (version > 1) this is
    # the last such change: a reactivation does not bring back the tokens that were live
    # when it was deactivated.
    tokens_from: int = 0


class RegistryMirror:
    def __init__(self, db: Database, *, poll_interval: float, max_staleness: float) -> None:
        self.db = db
        self.poll_interval = poll_interval
        self.max_staleness = max_staleness
        # key -> packed listing (see app.sync.listing): about 44 bytes a subject.
        self.listings: dict[str, int] = {}
        self.category_sets = CategorySets()
        self.principals: dict[str, Principal] = {}
        self.seq = 0
        self.synced_at = 0.0
        # Why the subject table disagrees with the chain (found at load), or None.
        self.state_error: str | None = None
        self._lock = asyncio.Lock()
        self._catch_up: asyncio.Task[None] | None = None

    def listing(self, key: str) -> Listing:
        """The lookup-relevant state of ``key`` (``UNLISTED`` when it is not listed)."""
        packed = self.listings.get(key)
        return UNLISTED if packed is None else unpack(self.category_sets, packed)

    @property
    def fresh(self) -> bool:
        """Lookups may be answered: in step with the database, and with the chain."""
        return self.state_error is None and time.monotonic() - self.synced_at <= self.max_staleness

    async def ensure_fresh(self) -> bool:
        """Whether lookups may be answered, catching up first if the last poll is late.

        A busy process (a long request, a slow disk) can miss its poll; then one query
        brings the index up to date rather than every caller getting a 503. Concurrent
        callers share one catch-up task, and a caller that gives up (the bound passed)
        does not cancel it for the others. Still stale (database unreachable within the
        bound, or the state disagrees with the chain): False, and the caller answers 503."""
        if self.fresh:
            return True
        if self.state_error is not None:
            return False
        task = self._catch_up
        if task is None or task.done():
            task = self._catch_up = asyncio.create_task(self.refresh(), name="index-catch-up")
            task.add_done_callback(_retrieve)
        try:
            await asyncio.wait_for(asyncio.shield(task), self.max_staleness)
        except Exception:  # unreachable or too slow: stale, and the caller answers 503
            return False
        return self.fresh

    async def load(self) -> None:
        """Full load at start: head, listed subjects, principals.

        The index is built from the chain (the latest event of every subject, replayed in
        ``seq`` order, as ``refresh`` follows it), then every listed row of the mutable
        ``subject`` table is checked against it: a row someone edited behind the chain
        sets ``state_error``, and lookups answer 503 rather than trust either."""
        async with self._lock, self.db.read_session() as session:
            head = (await session.execute(select(RegistryHead.seq))).scalar_one_or_none() or 0
            self.category_sets = CategorySets()
            self.listings = {}
            events = (
                select(ChangeEvent.subject_key, ChangeEvent.state)
                .where(ChangeEvent.entity_type == EntityType.SUBJECT, ChangeEvent.seq <= head)
                .order_by(ChangeEvent.seq)
                .execution_options(yield_per=_BATCH)
            )
            async for key, state in await session.stream(events):
                self._apply_subject(key, state)
            self.state_error = await self._check_table(session)
            if self.state_error is not None:
                log.error("not answering lookups: %s", self.state_error)
            self.principals = await self._load_principals(session)
            self.seq = head
            self.synced_at = time.monotonic()

    async def _check_table(self, session: Any) -> str | None:
        """Why the listed rows of ``subject`` disagree with the chain's index, or None."""
        sets, listings = self.category_sets, self.listings
        # Columns only, streamed: a million ORM objects at once would set the worker's
        # memory high-water mark for its whole life.
        stmt = (
            select(
                Subject.key,
                Subject.risk_level,
                Subject.categories,
                Subject.under_dispute,
                Subject.first_flagged_at,
                Subject.last_changed_at,
            )
            .where((Subject.risk_level > 0) | Subject.under_dispute)
            .execution_options(yield_per=_BATCH)
        )
        matched = 0
        async for key, risk, categories, disputed, first, last in await session.stream(stmt):
            try:
                packed = pack(sets, risk, categories, disputed, first, last)
            except (TypeError, ValueError, OverflowError):
                packed = -1
            if listings.get(key) != packed:
                return (
                    f"subject {key} in the subject table differs from its latest change event"
                    " (the table was changed behind the audit chain)"
                )
            matched += 1
        if matched == len(listings):
            return None
        # Some subject the chain lists is not listed in the table: name one (rare path).
        keys = list(listings)
        for start in range(0, len(keys), _BATCH):
            batch = keys[start : start + _BATCH]
            listed = select(Subject.key).where(
                Subject.key.in_(batch), (Subject.risk_level > 0) | Subject.under_dispute
            )
            present = set((await session.execute(listed)).scalars().all())
            for key in batch:
                if key not in present:
                    return (
                        f"subject {key} is listed by its latest change event but not in the"
                        " subject table (the table was changed behind the audit chain)"
                    )
        return "the subject table disagrees with the audit chain"

    async def refresh(self) -> None:
        """Apply every relevant change event committed since the last refresh."""
        async with self._lock, self.db.read_session() as session:
            head = (await session.execute(select(RegistryHead.seq))).scalar_one_or_none() or 0
            reload_principals = False
            while self.seq < head:
                stmt = (
                    select(
                        ChangeEvent.seq,
                        ChangeEvent.entity_type,
                        ChangeEvent.subject_key,
                        ChangeEvent.state,
                    )
                    .where(
                        ChangeEvent.seq > self.seq,
                        ChangeEvent.seq <= head,
                        ChangeEvent.entity_type.in_(MIRRORED_ENTITIES),
                    )
                    .order_by(ChangeEvent.seq)
                    .limit(_BATCH)
                )
                rows = (await session.execute(stmt)).all()
                for _seq, entity_type, key, state in rows:
                    if entity_type == EntityType.SUBJECT:
                        self._apply_subject(key, state)
                    else:
                        reload_principals = True
                self.seq = rows[-1][0] if len(rows) == _BATCH else head
            if reload_principals:
                self.principals = await self._load_principals(session)
            self.synced_at = time.monotonic()

    def _apply_subject(self, key: str | None, state: dict[str, Any]) -> None:
        if key is None:
            return
        packed = pack_state(self.category_sets, state)
        if packed is None:
            self.listings.pop(key, None)
        else:
            self.listings[key] = packed

    @staticmethod
    async def _load_principals(session: Any) -> dict[str, Principal]:
        stmt = select(Client, Organisation).join(
            Organisation, Organisation.id == Client.organisation_id
        )
        out: dict[str, Principal] = {}
        for client, org in (await session.execute(stmt)).all():
            out[client.client_id] = Principal(
                client_id=client.client_id,
                org_id=org.id,
                org_code=org.code,
                org_kind=org.kind,
                institution=org.institution,
                scopes=frozenset(client.scopes.split()),
                active=client.active and org.active,
                tokens_from=int(org.updated_at.timestamp()) if org.version > 1 else 0,
            )
        return out

    async def run(self) -> None:
        """Poll forever; a failed poll leaves ``synced_at`` old so lookups turn 503."""
        while True:
            await asyncio.sleep(self.poll_interval)
            try:
                await self.refresh()
            except Exception:  # any database fault: keep polling, stay visibly stale
                log.warning("mirror refresh failed", exc_info=True)


def _retrieve(task: asyncio.Task[None]) -> None:
    """Mark a catch-up's failure as seen: its callers were already answered 503."""
    if not task.cancelled():
        task.exception()


def subject_index_state(subject: Subject) -> dict[str, Any]:
    """The subject fields that drive the lookup answer, as stored in subject events."""
    from app.audit.chain import format_timestamp

    return {
        "key": subject.key,
        "risk_level": subject.risk_level,
        "categories": list(subject.categories or []),
        "under_dispute": subject.under_dispute,
        "first_flagged_at": format_timestamp(subject.first_flagged_at)
        if subject.first_flagged_at
        else None,
        "last_changed_at": format_timestamp(subject.last_changed_at)
        if subject.last_changed_at
        else None,
    }
