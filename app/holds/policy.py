"""Who may see and do what with a hold (SPEC §10), as plain functions over actor and hold.

- The **requester** is the organisation that asked (a bank, an e-wallet or police with
  ``holds:write``); it may cancel while the hold is ``requested``.
- The **holder** is the institution of the subject (a bank for its accounts, an e-wallet
  for its wallets: the same rule as the recovery ledger); with ``holds:respond`` it
  answers, releases and, once confirmed, returns.
- **Police** (``holds:confirm``) confirm a held hold for a case, and may release.
- Readers: the requester, the holder, police, regulators and ``history:read``. Anyone else
  — including another member bank, or the holder for a hold it does not hold — is answered
  exactly as for a hold that does not exist (404); so is anyone who may see a hold but not
  make the change asked for (the requester answering its own request, say).
"""

from __future__ import annotations

from app.auth.actor import Actor
from app.auth.scopes import OrgKind, Scope
from app.models import Hold, Subject

_HOLDER_KIND = {"bank_account": OrgKind.BANK, "ewallet": OrgKind.EWALLET}


def is_requester(actor: Actor, hold: Hold) -> bool:
    return actor.org_id is not None and hold.requester_id == actor.org_id


def is_holder(actor: Actor, subject: Subject) -> bool:
    """The caller is the institution where the held account or wallet is kept."""
    return (
        _HOLDER_KIND.get(subject.kind) == actor.org_kind
        and actor.institution is not None
        and subject.institution == actor.institution
    )


def held_at(actor: Actor) -> tuple[str, str] | None:
    """The (subject kind, institution) of the accounts this caller holds, if any."""
    for kind, org_kind in _HOLDER_KIND.items():
        if org_kind == actor.org_kind and actor.institution is not None:
            return kind, actor.institution
    return None


def is_police(actor: Actor) -> bool:
    return actor.org_kind == OrgKind.POLICE


def sees_every_hold(actor: Actor) -> bool:
    return (
        actor.org_kind in (OrgKind.POLICE, OrgKind.REGULATOR) or Scope.HISTORY_READ in actor.scopes
    )


def may_see(actor: Actor, hold: Hold, subject: Subject) -> bool:
    return sees_every_hold(actor) or is_requester(actor, hold) or is_holder(actor, subject)


def may_respond(actor: Actor, subject: Subject) -> bool:
    return Scope.HOLDS_RESPOND in actor.scopes and is_holder(actor, subject)


def may_return(actor: Actor, subject: Subject) -> bool:
    return may_respond(actor, subject)


def may_release(actor: Actor, subject: Subject) -> bool:
    police = is_police(actor) and Scope.HOLDS_CONFIRM in actor.scopes
    return police or may_respond(actor, subject)


def may_confirm(actor: Actor) -> bool:
    return is_police(actor) and Scope.HOLDS_CONFIRM in actor.scopes


def may_cancel(actor: Actor, hold: Hold) -> bool:
    return Scope.HOLDS_WRITE in actor.scopes and is_requester(actor, hold)
