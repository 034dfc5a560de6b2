"""Who may record and read the recovery ledger (SPEC §8), as plain functions.

Money is frozen, released and returned by the institution that holds the account (the
subject's ``institution``: a bank for its bank accounts, an e-wallet for its wallets), or
recorded by police. Anyone else, including another member bank with ``recovery:write``,
is answered exactly as for a subject that does not exist (404): it can neither move nor
learn about money at an institution that is not its own. Phone numbers hold no money.
Readers: ``history:read``, police, and the holding institution.
"""

from __future__ import annotations

from app.auth.actor import Actor
from app.auth.scopes import OrgKind, Scope
from app.identifiers.normalise import Subject as Identifier

MONEY_KINDS = frozenset({"bank_account", "ewallet"})
_HOLDER_KIND = {"bank_account": OrgKind.BANK, "ewallet": OrgKind.EWALLET}


def holds_money(identifier: Identifier) -> bool:
    return identifier.kind in MONEY_KINDS


def is_holder(actor: Actor, identifier: Identifier) -> bool:
    """The caller is the institution where this account or wallet is held."""
    return (
        _HOLDER_KIND.get(identifier.kind) == actor.org_kind
        and actor.institution is not None
        and identifier.institution == actor.institution
    )


def may_record(actor: Actor, identifier: Identifier) -> bool:
    return actor.org_kind == OrgKind.POLICE or is_holder(actor, identifier)


def may_read(actor: Actor, identifier: Identifier) -> bool:
    return Scope.HISTORY_READ in actor.scopes or may_record(actor, identifier)


def listed_holdings(actor: Actor) -> tuple[frozenset[str], str | None] | None:
    """Whose ledger entries a list shows the caller, by the rule of ``may_read``: None for
    every subject (police, ``history:read``), else the subject kinds and the institution
    the caller holds (a bank: its bank accounts; an e-wallet: its wallets; others: none)."""
    if Scope.HISTORY_READ in actor.scopes or actor.org_kind == OrgKind.POLICE:
        return None
    kinds = frozenset(kind for kind, holder in _HOLDER_KIND.items() if holder == actor.org_kind)
    if actor.institution is None:
        return frozenset(), None
    return kinds, actor.institution
