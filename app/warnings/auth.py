"""Scope dependencies of the warning endpoints."""

from __future__ import annotations

from typing import Annotated

from app.auth.actor import Actor
from app.auth.dependencies import require
from app.auth.scopes import Scope

Looker = Annotated[Actor, require(Scope.LOOKUP)]
