"""Optimistic concurrency: strong ETags carry an entity's version; changes need If-Match."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header

from app.errors import PreconditionRequired, StaleVersion


def etag(version: int) -> str:
    return f'"{version}"'


def check_if_match(header: str | None, version: int) -> None:
    """428 without ``If-Match``; 412 when it names another version than the current one."""
    if header is None:
        raise PreconditionRequired("send If-Match with the ETag you last read")
    candidates = {part.strip() for part in header.split(",")}
    if etag(version) not in candidates and "*" not in candidates:
        raise StaleVersion(f"current version is {version}", headers={"ETag": etag(version)})


IfMatch = Annotated[
    str | None, Header(alias="If-Match", max_length=200, description="the ETag you last read")
]


ETAG_HEADER: dict[str, Any] = {
    "description": "the entity's version (a strong ETag): send it back as `If-Match`",
    "required": True,
    "schema": {"type": "string"},
}


def etag_response(status: int = 200) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` entry of an endpoint whose ``status`` answer carries an ETag."""
    return {status: {"headers": {"ETag": ETAG_HEADER}}}
