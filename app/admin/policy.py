"""Who may administer, and the changes an administrator may not make (SPEC §2, §9).

- Only operator organisations hold ``admin`` (``scopes_for_kind``); the check is repeated
  here against the caller's organisation kind, so a client row that somehow held ``admin``
  for another kind still administers nothing.
- Lockout protection: an administrator cannot deactivate its own organisation nor revoke
  the client it is calling with; the operator could otherwise shut itself out of the API,
  leaving only the command line. Other clients of its own organisation, and other
  operator organisations, may be changed.

Every other rule (code format, kinds, institutions, which scopes a kind may hold, what an
already deactivated organisation or revoked client does) is the organisations service's,
shared with the command line.
"""

from __future__ import annotations

from app.auth.actor import Actor
from app.auth.scopes import OrgKind, Scope
from app.errors import Conflict, InsufficientScope


class SelfLockout(Conflict):
    type_slug = "self-lockout"
    title = "The change would lock the caller out"
    description = (
        "An administrator may not deactivate its own organisation nor revoke the client it "
        "is calling with: the operator would lose its last way in."
    )
    remedy = (
        "Make the change from another operator organisation's client, or with the "
        "`registry` command on the server."
    )


def check_administrator(actor: Actor) -> None:
    if Scope.ADMIN not in actor.scopes or actor.org_kind != OrgKind.OPERATOR:
        raise InsufficientScope(Scope.ADMIN)


def check_not_own_organisation(actor: Actor, code: str) -> None:
    if actor.org_code == code:
        raise SelfLockout(
            f"organisation {code} is the one you are calling for: deactivate it from another"
            " operator organisation or with `registry org deactivate`"
        )


def check_not_own_client(actor: Actor, client_id: str) -> None:
    if actor.client_id == client_id:
        raise SelfLockout(
            f"client {client_id} is the one you are calling with: revoke it with another"
            " client or with `registry client revoke`"
        )
