"""Who may do what with a flag (SPEC §4, §8), as plain functions over the actor and the flag.

- Any organisation with ``flags:write`` reports; it holds at most one active flag per
  subject (``create_flag`` answers 409 naming the one it has).
- Its own flags are visible to it; every flag is visible with ``history:read`` and to
  reviewers (``flags:review``, police), who decide them. Another organisation's flag is
  a 404, exactly like a flag that does not exist.
- ``confirm``: reviewers, a ``reported`` flag.
- ``reject``: reviewers, a ``reported`` or ``confirmed`` flag (police may undo a
  confirmation; nobody else can).
- ``withdraw``: the reporter, its own flag, while ``reported``; once ``confirmed`` only a
  reporter that itself holds ``flags:review``. A member bank cannot undo a police
  decision by withdrawing the report behind it.
- ``expire`` and ``clear`` are the registry's own (expiry; an upheld dispute).
"""

from __future__ import annotations

from enum import StrEnum

from app.auth.actor import Actor
from app.auth.scopes import Scope
from app.errors import Conflict
from app.flags.schemas import FlagStatus
from app.models import Flag


class FlagAction(StrEnum):
    CONFIRM = "confirm"
    REJECT = "reject"
    WITHDRAW = "withdraw"
    EXPIRE = "expire"
    CLEAR = "clear"


TARGET: dict[FlagAction, FlagStatus] = {
    FlagAction.CONFIRM: FlagStatus.CONFIRMED,
    FlagAction.REJECT: FlagStatus.REJECTED,
    FlagAction.WITHDRAW: FlagStatus.WITHDRAWN,
    FlagAction.EXPIRE: FlagStatus.EXPIRED,
    FlagAction.CLEAR: FlagStatus.CLEARED,
}

_REPORTED = frozenset({FlagStatus.REPORTED})
_ACTIVE = frozenset({FlagStatus.REPORTED, FlagStatus.CONFIRMED})


class InvalidTransition(Conflict):
    type_slug = "invalid-transition"
    title = "The flag cannot make that change from its current status"
    description = (
        "A flag moves through its statuses in fixed steps (reported, confirmed, withdrawn, "
        "rejected, expired, cleared), and who may take a step depends on the status: detail "
        "names the status and the step that is not allowed from it."
    )
    remedy = "Read the flag, check its status, and take a step allowed from there; do not retry."


def is_reviewer(actor: Actor) -> bool:
    return Scope.FLAGS_REVIEW in actor.scopes


def sees_every_flag(actor: Actor) -> bool:
    return Scope.HISTORY_READ in actor.scopes or is_reviewer(actor)


def may_see(actor: Actor, flag: Flag) -> bool:
    return sees_every_flag(actor) or flag.organisation_id == actor.org_id


def may_act_on(actor: Actor, flag: Flag, action: FlagAction) -> bool:
    """Whether the flag exists for this caller and action (else a 404)."""
    if action is FlagAction.WITHDRAW:
        return flag.organisation_id == actor.org_id
    if action in (FlagAction.CONFIRM, FlagAction.REJECT):
        return is_reviewer(actor)
    return False  # expire and clear are the registry's own, never a caller's request


def allowed_from(actor: Actor, action: FlagAction) -> frozenset[FlagStatus]:
    """The statuses from which ``actor`` may take ``action``."""
    if action is FlagAction.WITHDRAW:
        return _ACTIVE if is_reviewer(actor) else _REPORTED
    if action in (FlagAction.CONFIRM, FlagAction.EXPIRE):
        return _REPORTED
    return _ACTIVE  # reject, clear


def check_transition(actor: Actor, flag: Flag, action: FlagAction) -> FlagStatus:
    """The status ``action`` moves the flag to, or 409 when this actor may not from here."""
    if flag.status not in allowed_from(actor, action):
        if action is FlagAction.WITHDRAW and flag.status == FlagStatus.CONFIRMED:
            raise InvalidTransition(
                "a confirmed flag is withdrawn only by a reporter holding flags:review;"
                " ask the police to reject it"
            )
        raise InvalidTransition(f"cannot {action} a {flag.status} flag")
    return TARGET[action]
