"""Scope dependencies of the audit endpoints."""

from __future__ import annotations

from typing import Annotated

from app.auth.actor import Actor
from app.auth.dependencies import require
from app.auth.scopes import Scope

Auditor = Annotated[Actor, require(Scope.AUDIT_READ)]
