"""Who may do what with a dispute (SPEC §6, §8), as plain functions over actor and object.

- A dispute is opened by the institution that holds the account, for its customer: a bank
  or e-wallet for a subject at its own ``institution``, a telecom for a phone number.
  Anyone else is refused (403) before anything is read.
- It contests an active flag (409 when the subject has none), and a subject has at most
  one open dispute (409 naming it): a second opener cannot stack disputes, and
  ``under_dispute`` is true exactly while that one dispute is open.
- The opener sees its own disputes; resolvers (``disputes:resolve``: police, regulator)
  and ``history:read`` see all; anyone else gets a 404, as for a dispute that does not
  exist. Only resolvers decide, once.
"""

from __future__ import annotations

from app.auth.actor import Actor
from app.auth.scopes import OrgKind, Scope
from app.models import Dispute


def holds_the_account(actor: Actor, kind: str, institution: str | None) -> bool:
    """Banks and e-wallets: their own institution code; telecoms: phone numbers."""
    if actor.org_kind == OrgKind.TELECOM:
        return kind == "phone"
    if actor.org_kind == OrgKind.BANK:
        return kind == "bank_account" and institution == actor.institution
    if actor.org_kind == OrgKind.EWALLET:
        return kind == "ewallet" and institution == actor.institution
    return False


def sees_every_dispute(actor: Actor) -> bool:
    return bool(actor.scopes & {Scope.DISPUTES_RESOLVE, Scope.HISTORY_READ})


def may_see(actor: Actor, dispute: Dispute) -> bool:
    return sees_every_dispute(actor) or dispute.organisation_id == actor.org_id


def may_resolve(actor: Actor) -> bool:
    return Scope.DISPUTES_RESOLVE in actor.scopes
