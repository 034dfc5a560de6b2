"""Scope dependencies of the lookup, subject and change-feed endpoints."""

from __future__ import annotations

from typing import Annotated

from app.auth.actor import Actor
from app.auth.dependencies import require
from app.auth.scopes import Scope

Looker = Annotated[Actor, require(Scope.LOOKUP)]
Syncer = Annotated[Actor, require(Scope.SYNC)]
HistoryReader = Annotated[Actor, require(Scope.HISTORY_READ)]
