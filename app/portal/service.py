"""Citizen reports (filed, turned into a flag, closed) and police bulletins.

Each change is one chained event recorded in the caller's unit of work; nothing here
commits. A citizen report lists nothing: only an analyst's flag does.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from app.audit.vocabulary import Action, Change, EntityType
from app.auth.actor import Actor
from app.db.unit_of_work import UnitOfWork
from app.errors import Conflict, InvalidInput, NotFound, StaleVersion
from app.flags.repository import FlagRow
from app.flags.schemas import FlagCreate
from app.flags.service import create_flag
from app.models import Bulletin, CitizenReport, Organisation
from app.portal.repository import BulletinRepository, CitizenReportRepository
from app.portal.schemas import BulletinRead, CitizenReportIn, CitizenReportRead
from app.preconditions import etag
from app.reference.catalogue import typology_codes
from app.subjects.schemas import SubjectIn
from app.subjects.service import identify

# Crockford's base32 without I, L, O, U: easy to read out on the phone.
_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class CitizenReportNotFound(NotFound):
    title = "Citizen report not found"


class ReportAlreadyDecided(Conflict):
    title = "The report was already turned into a flag or closed"


def public_actor(request_id: str | None) -> Actor:
    """Who files a citizen report: nobody signed in, named as such in the event."""
    return Actor(None, None, "public", None, "public", None, request_id)


def new_reference() -> str:
    return "BC-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))


def report_state(report: CitizenReport) -> dict[str, Any]:
    return CitizenReportRead.model_validate(report, from_attributes=True).model_dump(mode="json")


def bulletin_state(bulletin: Bulletin, org_code: str) -> dict[str, Any]:
    return bulletin_read(bulletin, org_code).model_dump(mode="json")


def bulletin_read(bulletin: Bulletin, org_code: str) -> BulletinRead:
    return BulletinRead(
        id=bulletin.id,
        organisation=org_code,
        title=bulletin.title,
        body=bulletin.body,
        category=bulletin.category,
        version=bulletin.version,
        published_at=bulletin.published_at,
    )


async def _record_report(uow: UnitOfWork, report: CitizenReport, action: Action) -> None:
    await uow.record(
        Change(
            entity_type=EntityType.CITIZEN_REPORT,
            entity_id=report.id,
            entity_version=report.version,
            action=action,
            state=report_state(report),
        )
    )


async def file_report(uow: UnitOfWork, data: CitizenReportIn) -> CitizenReport:
    """A citizen's report into the police review queue; its reference is the receipt."""
    subject = identify(data.subject, ("body", "subject"))
    now = uow.now
    report = CitizenReport(
        id=str(uuid.uuid4()),
        reference=new_reference(),
        subject_key=subject.key,
        subject_kind=subject.kind,
        subject_institution=subject.institution,
        subject_identifier=subject.identifier,
        amount_vnd=data.amount_vnd,
        occurred_on=data.occurred_on,
        description=data.description,
        contact=data.contact or None,
        status="new",
        flag_id=None,
        reason=None,
        version=1,
        created_at=now,
        updated_at=now,
    )
    await CitizenReportRepository(uow.session).add(report)
    await _record_report(uow, report, Action.CREATED)
    return report


async def _open_report(uow: UnitOfWork, report_id: str, version: int) -> CitizenReport:
    report = await CitizenReportRepository(uow.session).get(report_id)
    if report is None:
        raise CitizenReportNotFound(f"no citizen report {report_id}")
    if report.version != version:
        raise StaleVersion(
            f"current version is {report.version}", headers={"ETag": etag(report.version)}
        )
    if report.status != "new":
        raise ReportAlreadyDecided(f"the report is already {report.status}")
    return report


async def flag_from_report(
    uow: UnitOfWork,
    report_id: str,
    version: int,
    *,
    category: str,
    description: str,
    ttl_days: float,
) -> tuple[CitizenReport, FlagRow]:
    """The analyst's flag on the reported subject (prefilled from the report)."""
    report = await _open_report(uow, report_id, version)
    body = FlagCreate(
        subject=SubjectIn(
            kind=report.subject_kind,
            institution=report.subject_institution,
            identifier=report.subject_identifier,
        ),
        category=category,
        description=description,
        amount_lost_vnd=report.amount_vnd,
    )
    row = await create_flag(uow, body, ttl_days=ttl_days)
    report.status = "flagged"
    report.flag_id = row[0].id
    report.version += 1
    report.updated_at = uow.now
    await _record_report(uow, report, Action.FLAGGED)
    return report, row


async def close_report(uow: UnitOfWork, report_id: str, version: int, reason: str) -> None:
    if not reason.strip():
        raise InvalidInput("a reason is needed to close a report")
    report = await _open_report(uow, report_id, version)
    report.status = "closed"
    report.reason = reason
    report.version += 1
    report.updated_at = uow.now
    await _record_report(uow, report, Action.CLOSED)


async def publish_bulletin(
    uow: UnitOfWork, org: Organisation, *, title: str, body: str, category: str | None
) -> Bulletin:
    """A police bulletin, on the portal and in its feed at once."""
    if category is not None and category not in typology_codes():
        raise InvalidInput(f"unknown category {category}")
    if not title.strip() or not body.strip():
        raise InvalidInput("a bulletin needs a title and a text")
    now = uow.now
    bulletin = Bulletin(
        id=str(uuid.uuid4()),
        organisation_id=org.id,
        title=title.strip(),
        body=body.strip(),
        category=category,
        version=1,
        published_at=now,
        updated_at=now,
    )
    await BulletinRepository(uow.session).add(bulletin)
    await uow.record(
        Change(
            entity_type=EntityType.BULLETIN,
            entity_id=bulletin.id,
            entity_version=1,
            action=Action.PUBLISHED,
            state=bulletin_state(bulletin, org.code),
        )
    )
    return bulletin
