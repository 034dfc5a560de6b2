"""The scopes of SPEC §2 and which organisation kinds may hold each."""

from __future__ import annotations

from enum import StrEnum


class OrgKind(StrEnum):
    BANK = "bank"
    EWALLET = "ewallet"
    TELECOM = "telecom"
    POLICE = "police"
    REGULATOR = "regulator"
    AUDITOR = "auditor"
    OPERATOR = "operator"


class Scope(StrEnum):
    LOOKUP = "lookup"
    SYNC = "sync"
    FLAGS_WRITE = "flags:write"
    FLAGS_REVIEW = "flags:review"
    DISPUTES_WRITE = "disputes:write"
    DISPUTES_RESOLVE = "disputes:resolve"
    RECOVERY_WRITE = "recovery:write"
    HOLDS_WRITE = "holds:write"
    HOLDS_RESPOND = "holds:respond"
    HOLDS_CONFIRM = "holds:confirm"
    HISTORY_READ = "history:read"
    AUDIT_READ = "audit:read"
    REPORTS_READ = "reports:read"
    ADMIN = "admin"
    WEBHOOKS_MANAGE = "webhooks:manage"


SCOPE_DESCRIPTIONS: dict[Scope, str] = {
    Scope.LOOKUP: "check identifiers",
    Scope.SYNC: "read the change feed of listings",
    Scope.FLAGS_WRITE: "report/flag an identifier; withdraw own flags",
    Scope.FLAGS_REVIEW: "confirm or reject any flag",
    Scope.DISPUTES_WRITE: "open a dispute for an identifier held at the caller's institution",
    Scope.DISPUTES_RESOLVE: "decide disputes",
    Scope.RECOVERY_WRITE: "record freezes, releases, returns of money",
    Scope.HOLDS_WRITE: "request and cancel holds of money at another institution",
    Scope.HOLDS_RESPOND: "answer, release and return holds on accounts at the caller's institution",
    Scope.HOLDS_CONFIRM: "confirm holds for a police case",
    Scope.HISTORY_READ: "full records, history, point-in-time reads",
    Scope.AUDIT_READ: "the audit log and its verification",
    Scope.REPORTS_READ: "periodic reports",
    Scope.ADMIN: "manage organisations and clients",
    Scope.WEBHOOKS_MANAGE: "manage your organisation's webhooks",
}

_K = OrgKind
ALLOWED_KINDS: dict[Scope, frozenset[OrgKind]] = {
    Scope.LOOKUP: frozenset({_K.BANK, _K.EWALLET, _K.TELECOM, _K.POLICE, _K.REGULATOR}),
    Scope.SYNC: frozenset({_K.BANK, _K.EWALLET, _K.TELECOM, _K.REGULATOR}),
    Scope.FLAGS_WRITE: frozenset({_K.BANK, _K.EWALLET, _K.TELECOM, _K.POLICE}),
    Scope.FLAGS_REVIEW: frozenset({_K.POLICE}),
    Scope.DISPUTES_WRITE: frozenset({_K.BANK, _K.EWALLET, _K.TELECOM}),
    Scope.DISPUTES_RESOLVE: frozenset({_K.POLICE, _K.REGULATOR}),
    Scope.RECOVERY_WRITE: frozenset({_K.BANK, _K.EWALLET, _K.POLICE}),
    Scope.HOLDS_WRITE: frozenset({_K.BANK, _K.EWALLET, _K.POLICE}),
    Scope.HOLDS_RESPOND: frozenset({_K.BANK, _K.EWALLET}),
    Scope.HOLDS_CONFIRM: frozenset({_K.POLICE}),
    Scope.HISTORY_READ: frozenset({_K.POLICE, _K.REGULATOR, _K.AUDITOR}),
    Scope.AUDIT_READ: frozenset({_K.AUDITOR, _K.REGULATOR}),
    Scope.REPORTS_READ: frozenset({_K.POLICE, _K.REGULATOR, _K.AUDITOR}),
    Scope.ADMIN: frozenset({_K.OPERATOR}),
    Scope.WEBHOOKS_MANAGE: frozenset({_K.BANK, _K.EWALLET, _K.TELECOM, _K.POLICE, _K.REGULATOR}),
}


def scopes_for_kind(kind: str) -> frozenset[Scope]:
    return frozenset(scope for scope, kinds in ALLOWED_KINDS.items() if kind in kinds)


def parse_scopes(text: str) -> list[str]:
    """Split a space-separated scope string; duplicates folded, order kept."""
    return list(dict.fromkeys(part for part in text.split(" ") if part))
