"""Who is issued a warning and who may say what came of it (SPEC §8 "Warnings"), as plain
functions over the actor and the warning.

- A warning stands for a transfer or a call a customer is about to make, so only the
  organisations that move money or calls (bank, ewallet, telecom) receive one. Police and
  regulators look subjects up to investigate: a warning row for them would count as a
  "warning issued" in the reports and could never get an outcome. Their answers carry
  ``warning_id: null``.
- One warning per subject per request: a batch that names a subject 1,000 times is one
  payee screened, not 1,000 warnings (``record_lookups`` deduplicates by key).
- Only the organisation that received a warning records its outcome, once, and at most
  ``REGISTRY_MAX_OUTCOME_VND``: one bank cannot forge the city's "VND protected".
"""

from __future__ import annotations

from app.auth.actor import Actor
from app.auth.scopes import OrgKind
from app.models import Warning

WARNED_KINDS = frozenset({OrgKind.BANK, OrgKind.EWALLET, OrgKind.TELECOM})


def receives_warnings(actor: Actor) -> bool:
    return actor.org_kind in WARNED_KINDS


def may_record_outcome(actor: Actor, warning: Warning) -> bool:
    """Only the organisation that received the warning; anyone else gets a 404."""
    return warning.organisation_id == actor.org_id
