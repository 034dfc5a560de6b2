"""Scope dependencies of the dispute endpoints."""

from __future__ import annotations

from typing import Annotated

from app.auth.actor import Actor
from app.auth.dependencies import require
from app.auth.scopes import Scope

Opener = Annotated[Actor, require(Scope.DISPUTES_WRITE)]
Resolver = Annotated[Actor, require(Scope.DISPUTES_RESOLVE)]
DisputeReader = Annotated[
    Actor, require(Scope.DISPUTES_WRITE, Scope.DISPUTES_RESOLVE, Scope.HISTORY_READ)
]
