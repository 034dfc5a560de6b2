"""Scope dependencies of the flag endpoints."""

from __future__ import annotations

from typing import Annotated

from app.auth.actor import Actor
from app.auth.dependencies import require
from app.auth.scopes import Scope

Reporter = Annotated[Actor, require(Scope.FLAGS_WRITE)]
Reviewer = Annotated[Actor, require(Scope.FLAGS_REVIEW)]
ReporterOrHistory = Annotated[Actor, require(Scope.FLAGS_WRITE, Scope.HISTORY_READ)]
