"""Scope dependencies of the recovery endpoints."""

from __future__ import annotations

from typing import Annotated

from app.auth.actor import Actor
from app.auth.dependencies import require
from app.auth.scopes import Scope

Recorder = Annotated[Actor, require(Scope.RECOVERY_WRITE)]
LedgerReader = Annotated[Actor, require(Scope.RECOVERY_WRITE, Scope.HISTORY_READ)]
