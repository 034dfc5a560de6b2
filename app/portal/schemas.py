"""Bodies of ``POST /v1/public/check`` and ``POST /v1/public/reports`` (SPEC §13)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from app.subjects.schemas import SUBJECT_EXAMPLE, SubjectIn
from app.text import Text

Level = Literal["confirmed", "reported", "none"]
VIETQR_EXAMPLE = (
    "00020101021238570010A00000072701270006970436011300110023456780208QRIBFTTA53037045802VN6304"
)


_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _iso_date(value: object) -> object:
    """Only a date written YYYY-MM-DD (JSON has no date type: a number is no date)."""
    if value is None or isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value):
        return value
    raise ValueError("a date written YYYY-MM-DD")


OccurredOn = Annotated[
    date | None, BeforeValidator(_iso_date), Field(description="the day it happened, YYYY-MM-DD")
]


class PublicCheckRequest(BaseModel):
    """Exactly one of ``subject`` (an account, e-wallet or phone number) or ``vietqr``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"subject": SUBJECT_EXAMPLE},
                {"subject": {"kind": "phone", "identifier": "0912 345 678"}},
            ]
        },
    )

    subject: SubjectIn | None = None
    vietqr: Text | None = Field(default=None, min_length=1, max_length=512)

    @model_validator(mode="after")
    def _one_of(self) -> Self:
        if (self.subject is None) == (self.vietqr is None):
            raise ValueError("send exactly one of subject or vietqr")
        return self


class PublicCheckResult(BaseModel):
    """What a citizen may know: never reporters, cases, holders or counts."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "key": "bank_account:970436:0011002345678",
                    "level": "confirmed",
                    "categories": ["FAKE_SHOP"],
                    "advice": ["Do not transfer money to this account."],
                }
            ]
        }
    )

    key: str = Field(description="the canonical key of the subject checked")
    level: Level = Field(
        description="confirmed: confirmed by police, do not pay; reported: reported by "
        "organisations, be careful; none: no report, which does not mean safe"
    )
    categories: list[str] = Field(description="scam methods (typology codes) reported")
    advice: list[str] = Field(
        description="what to do, in Vietnamese (Accept-Language: en for English)"
    )


class CitizenReportIn(BaseModel):
    """A scam, told by the person it happened to; reviewed by police before anything else."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "subject": SUBJECT_EXAMPLE,
                    "amount_vnd": 5_000_000,
                    "occurred_on": "2026-11-30",
                    "description": "A seller on a social network took the money and vanished.",
                    "contact": "0912 345 678",
                }
            ]
        },
    )

    subject: SubjectIn
    amount_vnd: int | None = Field(default=None, ge=0, le=10**15, strict=True)
    occurred_on: OccurredOn = None
    description: Text = Field(min_length=1, max_length=2000)
    contact: Text | None = Field(default=None, max_length=200)


class CitizenReportReceipt(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reference": "BC-7K3M9Q2X", "status": "received"}]}
    )

    reference: str = Field(description="quote it when you call the police about the report")
    status: Literal["received"] = "received"


class CitizenReportRead(BaseModel):
    """A citizen report as police see it, and as its change events record it."""

    id: str
    reference: str
    subject_key: str
    subject_kind: str
    subject_institution: str | None
    subject_identifier: str
    amount_vnd: int | None
    occurred_on: date | None
    description: str
    contact: str | None
    status: Literal["new", "flagged", "closed"]
    flag_id: str | None
    reason: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class BulletinRead(BaseModel):
    id: str
    organisation: str
    title: str
    body: str
    category: str | None
    version: int
    published_at: datetime
