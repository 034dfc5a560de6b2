"""One import row through the API's own rules: validate, normalise, fingerprint."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from app.auth.actor import Actor
from app.errors import InvalidInput
from app.flags.schemas import FlagCreate
from app.flags.service import check_flag_fields, fold_holder_name
from app.identifiers.normalise import Subject as Identifier
from app.imports.reader import SourceRow
from app.subjects.service import identify

# A sign is let through so that "-5" is refused by FlagCreate's own ``ge=0`` message.
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,30}", re.ASCII)
_SUBJECT_FIELDS = ("kind", "institution", "identifier")
# What json.dumps(ensure_ascii=False, separators=(",", ":")) builds on every call, built once.
_FINGERPRINT_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class RowError:
    """What is wrong with one row: its number in the file, the column, and why."""

    row: int
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class PreparedRow:
    """A valid row, normalised exactly as ``POST /v1/flags`` would store it."""

    number: int
    subject: Identifier
    data: FlagCreate
    holder_name: str | None
    fingerprint: str


def _amount(text: str | None) -> int | str | None:
    """Whole đồng as an int; anything else is passed on for FlagCreate to refuse."""
    if text is not None and _WHOLE_NUMBER.fullmatch(text):
        return int(text)
    return text


def _payload(values: dict[str, str | None]) -> dict[str, Any]:
    # Blank cells are left out rather than sent as None, so a blank required column
    # reads "Field required" and a blank optional one takes the API's default.
    subject = {f: values[f] for f in _SUBJECT_FIELDS if values[f] is not None}
    payload: dict[str, Any] = {"subject": subject}
    for name in ("category", "description", "case_reference", "holder_name"):
        if values[name] is not None:
            payload[name] = values[name]
    if values["amount_lost_vnd"] is not None:
        payload["amount_lost_vnd"] = _amount(values["amount_lost_vnd"])
    return payload


def _validation_errors(number: int, exc: ValidationError) -> list[RowError]:
    errors = []
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        field = str(loc[-1] if loc and loc[0] == "subject" else loc[0] if loc else "row")
        message = error["msg"]
        if field == "amount_lost_vnd" and error["type"] in {"int_type", "int_parsing"}:
            message = "must be a whole number of đồng, digits only"
        errors.append(RowError(number, field, message))
    return errors


def _app_errors(number: int, exc: InvalidInput) -> list[RowError]:
    return [RowError(number, str(e["loc"][-1]), str(e["msg"])) for e in exc.errors or []] or [
        RowError(number, "row", exc.detail)
    ]


def fingerprint(org_code: str, subject_key: str, data: FlagCreate, holder: str | None) -> str:
    """SHA-256 hex of the organisation and the normalised row: equal rows, equal prints."""
    text = [
        unicodedata.normalize("NFC", s) if s is not None else None
        for s in (data.description, data.case_reference)
    ]
    parts = [org_code, subject_key, data.category, text[0], data.amount_lost_vnd, text[1], holder]
    encoded = _FINGERPRINT_JSON.encode(parts)
    return hashlib.sha256(encoded.encode()).hexdigest()


def _rule_errors(
    number: int, actor: Actor, data: FlagCreate
) -> tuple[Identifier | None, list[RowError]]:
    """Category and police-only checks, then subject normalisation: both always run, so a
    row reports all of its problems at once."""
    errors: list[RowError] = []
    try:
        check_flag_fields(actor, data)
    except InvalidInput as exc:
        errors += _app_errors(number, exc)
    try:
        return identify(data.subject, ()), errors
    except InvalidInput as exc:
        return None, errors + _app_errors(number, exc)


def prepare_row(row: SourceRow, actor: Actor) -> PreparedRow | list[RowError]:
    """Validate a row with :class:`FlagCreate`, the flag rules and subject normalisation;
    returns the normalised row or every error found in it. ``actor`` is the reporting
    organisation: its kind decides whether ``case_reference`` is allowed."""
    assert actor.org_code is not None
    errors: list[RowError] = []
    if row.extra:
        errors.append(RowError(row.number, f"column {row.extra}", "value beyond the header"))
    try:
        data = FlagCreate.model_validate(_payload(row.values))
    except ValidationError as exc:
        return errors + _validation_errors(row.number, exc)
    subject, rule_errors = _rule_errors(row.number, actor, data)
    errors += rule_errors
    if errors or subject is None:
        return errors
    holder = fold_holder_name(data.holder_name) if data.holder_name else None
    digest = fingerprint(actor.org_code, subject.key, data, holder)
    return PreparedRow(row.number, subject, data, holder, digest)
