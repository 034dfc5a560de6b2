"""Who is warned and who may report what the customer did (SPEC §8 "Warnings")."""

from __future__ import annotations

from app.auth.actor import Actor
from app.models import Warning


def may_record_outcome(actor: Actor, warning: Warning) -> bool:
    """Only the organisation that received the warning; anyone else gets a 404."""
    return warning.organisation_id == actor.org_id
