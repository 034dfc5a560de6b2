"""Scope dependencies of the hold endpoints."""

from __future__ import annotations

from typing import Annotated

from app.auth.actor import Actor
from app.auth.dependencies import require
from app.auth.scopes import Scope

Requester = Annotated[Actor, require(Scope.HOLDS_WRITE)]
Responder = Annotated[Actor, require(Scope.HOLDS_RESPOND)]
Confirmer = Annotated[Actor, require(Scope.HOLDS_CONFIRM)]
# A release is made by the holder (holds:respond) or by police (holds:confirm).
Releaser = Annotated[Actor, require(Scope.HOLDS_RESPOND, Scope.HOLDS_CONFIRM)]
HoldReader = Annotated[
    Actor,
    require(Scope.HOLDS_WRITE, Scope.HOLDS_RESPOND, Scope.HOLDS_CONFIRM, Scope.HISTORY_READ),
]
