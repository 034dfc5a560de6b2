"""Console roles (SPEC §12): a named set of the scopes an organisation's kind allows.

What a user may see and do is what these scopes allow through the API, checked by the same
policies; a role is only ever offered to the kinds listed here.
"""

from __future__ import annotations

from enum import StrEnum

from app.auth.scopes import OrgKind, Scope, scopes_for_kind


class Role(StrEnum):
    ANALYST = "analyst"
    SUPERVISOR = "supervisor"
    FRAUD_OFFICER = "fraud_officer"
    OFFICER = "officer"
    AUDITOR = "auditor"
    ADMIN = "admin"


_S = Scope
_ANALYST = {
    _S.LOOKUP,
    _S.FLAGS_WRITE,
    _S.FLAGS_REVIEW,
    _S.HISTORY_READ,
    _S.RECOVERY_WRITE,
    _S.HOLDS_WRITE,
    _S.HOLDS_CONFIRM,
}
_FRAUD_OFFICER = {
    _S.LOOKUP,
    _S.FLAGS_WRITE,
    _S.DISPUTES_WRITE,
    _S.RECOVERY_WRITE,
    _S.HOLDS_WRITE,
    _S.HOLDS_RESPOND,
}
ROLE_SCOPES: dict[tuple[OrgKind, Role], frozenset[Scope]] = {
    (OrgKind.POLICE, Role.ANALYST): frozenset(_ANALYST),
    (OrgKind.POLICE, Role.SUPERVISOR): frozenset(_ANALYST | {_S.DISPUTES_RESOLVE, _S.REPORTS_READ}),
    (OrgKind.REGULATOR, Role.SUPERVISOR): frozenset(
        {_S.LOOKUP, _S.DISPUTES_RESOLVE, _S.HISTORY_READ, _S.AUDIT_READ, _S.REPORTS_READ}
    ),
    (OrgKind.BANK, Role.FRAUD_OFFICER): frozenset(_FRAUD_OFFICER),
    (OrgKind.EWALLET, Role.FRAUD_OFFICER): frozenset(_FRAUD_OFFICER),
    (OrgKind.TELECOM, Role.OFFICER): frozenset({_S.LOOKUP, _S.FLAGS_WRITE, _S.DISPUTES_WRITE}),
    (OrgKind.AUDITOR, Role.AUDITOR): frozenset({_S.AUDIT_READ, _S.HISTORY_READ, _S.REPORTS_READ}),
    (OrgKind.OPERATOR, Role.ADMIN): frozenset({_S.ADMIN}),
}

# A role can never grant what its kind may not hold (a test holds the table to this too).
for (_kind, _role), _scopes in ROLE_SCOPES.items():
    assert _scopes <= scopes_for_kind(_kind), (_kind, _role)


def role_scopes(kind: str, role: str) -> frozenset[Scope] | None:
    """The scopes of ``role`` in an organisation of ``kind``; None if it has no such role."""
    try:
        return ROLE_SCOPES.get((OrgKind(kind), Role(role)))
    except ValueError:
        return None


def roles_for_kind(kind: str) -> list[Role]:
    return [role for (k, role) in ROLE_SCOPES if k == kind]
