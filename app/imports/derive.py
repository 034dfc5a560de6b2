"""The import's plain-data twins of ``flag_read`` and ``rederive``.

The API path builds a pydantic ``FlagRead`` per flag and keeps ORM ``Subject`` objects that
a flush updates one by one; at import volume both dominate the run. Here a subject is a
small mutable record written back with one executemany, and a flag's event state is a dict
built from a template that ``flag_read`` itself produced: same keys, same order, same
values (tests/imports/test_bulk_equivalence.py holds them to it).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.audit.chain import format_timestamp
from app.audit.repository import BulkEventWriter
from app.audit.vocabulary import Action, Change, EntityType
from app.flags.service import flag_read
from app.identifiers.normalise import Subject as Identifier
from app.imports.rows import PreparedRow
from app.models import Flag, Organisation, Subject
from app.subjects.risk import FlagFacts, derive_risk

# The columns a subject record carries, in the order of ``subject_state``'s dict.
SUBJECT_COLUMNS = (
    "id",
    "key",
    "kind",
    "institution",
    "identifier",
    "risk_level",
    "categories",
    "under_dispute",
    "first_flagged_at",
    "last_changed_at",
    "version",
)


@dataclass(slots=True)
class SubjectRecord:
    """A subject row as the import reads and changes it; ``id`` is None until inserted."""

    id: int | None
    key: str
    kind: str
    institution: str | None
    identifier: str
    risk_level: int = 0
    categories: list[str] | None = None
    under_dispute: bool = False
    first_flagged_at: datetime | None = None
    last_changed_at: datetime | None = None
    version: int = 0
    dirty: bool = False  # changed since read: to be written back

    @classmethod
    def new(cls, ident: Identifier) -> SubjectRecord:
        """What ``SubjectRepository.get_or_create`` would insert for a new subject."""
        return cls(None, ident.key, ident.kind, ident.institution, ident.identifier, categories=[])

    def row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in SUBJECT_COLUMNS if name != "id"}


class Timestamps:
    """``format_timestamp`` remembered: nearly every time in an import is the same ``now``.
    Only UTC values are remembered, for which equal means the same instant, the same text."""

    def __init__(self) -> None:
        self._seen: dict[datetime, str] = {}

    def __call__(self, value: datetime | None) -> str | None:
        if value is None:
            return None
        if value.tzinfo is not UTC:
            return format_timestamp(value)
        text = self._seen.get(value)
        if text is None:
            if len(self._seen) > 10_000:  # earlier flags' times: keep memory bounded
                self._seen.clear()
            text = self._seen[value] = format_timestamp(value)
        return text


def subject_state(subject: SubjectRecord, stamp: Timestamps) -> dict[str, Any]:
    """``app.subjects.service.subject_state`` of the same subject."""
    return {
        "key": subject.key,
        "risk_level": subject.risk_level,
        "categories": list(subject.categories or []),
        "under_dispute": subject.under_dispute,
        "first_flagged_at": stamp(subject.first_flagged_at),
        "last_changed_at": stamp(subject.last_changed_at),
        "kind": subject.kind,
        "institution": subject.institution,
        "identifier": subject.identifier,
    }


class FlagMaker:
    """New flags of one organisation at one instant: their rows and their event states."""

    def __init__(self, org: Organisation, status: str, now: datetime, expires: datetime | None):
        self.org_id = org.id
        self.status = status
        self.now = now
        self.expires_at = expires
        # Everything that is the same for every flag of the import, as flag_read renders it.
        probe = Flag(id="", status=status, category="", description="", version=1)
        probe.created_at = probe.updated_at = now
        probe.expires_at = expires
        subject = Subject(key="", kind="", institution=None, identifier="")
        self.template = flag_read(probe, subject, org).model_dump(mode="json")

    def row(self, subject_id: int | None, row: PreparedRow) -> dict[str, Any]:
        data, now = row.data, self.now
        return {
            "id": str(uuid.uuid4()),
            "subject_id": subject_id,
            "organisation_id": self.org_id,
            "status": self.status,
            "category": data.category,
            "description": data.description,
            "amount_lost_vnd": data.amount_lost_vnd,
            "case_reference": data.case_reference,
            "holder_name": row.holder_name,
            "import_fingerprint": row.fingerprint,
            "version": 1,
            "created_at": now,
            "updated_at": now,
            "expires_at": self.expires_at,
        }

    def state(self, flag: dict[str, Any], subject: SubjectRecord) -> dict[str, Any]:
        """``flag_read(flag, subject, org).model_dump(mode="json")`` of a new flag."""
        t = self.template
        return {
            "id": flag["id"],
            "subject": {
                "key": subject.key,
                "kind": subject.kind,
                "institution": subject.institution,
                "identifier": subject.identifier,
            },
            "organisation": t["organisation"],
            "status": t["status"],
            "category": flag["category"],
            "description": flag["description"],
            "amount_lost_vnd": flag["amount_lost_vnd"],
            "case_reference": flag["case_reference"],
            "holder_name": flag["holder_name"],
            "reason": None,
            "version": t["version"],
            "created_at": t["created_at"],
            "updated_at": t["updated_at"],
            "expires_at": t["expires_at"],
        }


def rederive_record(
    events: BulkEventWriter,
    subject: SubjectRecord,
    flags: Sequence[FlagFacts],
    first: datetime | None,
    stamp: Timestamps,
) -> None:
    """``rederive(events, subject, flags)`` for a record: the same answer, the same event.

    ``first`` is the earliest ``created_at`` of ``flags``. The import never touches a
    dispute, so ``under_dispute`` stays as it is.
    """
    risk = derive_risk(flags)
    categories = list(risk.categories)
    changed = risk.level != subject.risk_level or categories != subject.categories
    if subject.first_flagged_at is None and first is not None:
        subject.first_flagged_at = first
        subject.dirty = True
    if not changed:
        return
    subject.risk_level = risk.level
    subject.categories = categories
    subject.last_changed_at = events.now
    subject.version += 1
    subject.dirty = True
    events.add(
        Change(
            entity_type=EntityType.SUBJECT,
            entity_id=subject.key,
            entity_version=subject.version,
            action=Action.ANSWER_CHANGED,
            state=subject_state(subject, stamp),
            subject_key=subject.key,
        )
    )
