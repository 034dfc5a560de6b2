"""Scope dependencies of the webhook and inbox endpoints."""

from __future__ import annotations

from typing import Annotated

from app.auth.actor import Actor
from app.auth.dependencies import require
from app.auth.scopes import ALLOWED_KINDS, Scope

Manager = Annotated[Actor, require(Scope.WEBHOOKS_MANAGE)]

# "Any token of the organisation" (SPEC §11) of the kinds that receive messages: whichever
# scope it holds, except `admin` (operators receive no messages).
RECEIVING_KINDS = ALLOWED_KINDS[Scope.WEBHOOKS_MANAGE]
INBOX_SCOPES = tuple(scope for scope in Scope if ALLOWED_KINDS[scope] & RECEIVING_KINDS)
InboxReader = Annotated[Actor, require(*INBOX_SCOPES)]
