"""Scope dependency of the admin endpoints: ``admin``, held only by operators."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.admin.policy import check_administrator
from app.auth.actor import Actor
from app.auth.dependencies import require
from app.auth.scopes import Scope


async def _administrator(actor: Annotated[Actor, require(Scope.ADMIN)]) -> Actor:
    check_administrator(actor)
    return actor


Administrator = Annotated[Actor, Depends(_administrator)]
