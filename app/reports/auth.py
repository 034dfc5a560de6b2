"""Scope dependency of the report endpoint."""

from __future__ import annotations

from typing import Annotated

from app.auth.actor import Actor
from app.auth.dependencies import require
from app.auth.scopes import Scope

ReportReader = Annotated[Actor, require(Scope.REPORTS_READ)]
