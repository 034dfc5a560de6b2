"""Who is acting: the authenticated caller, or the operator's command line."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Actor:
    org_id: int | None
    org_code: str | None
    org_kind: str | None
    institution: str | None
    client_id: str | None
    jti: str | None
    request_id: str | None
    scopes: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def command_line(cls, request_id: str = "cli") -> Actor:
        return cls(None, None, "operator", None, "cli", None, request_id)
