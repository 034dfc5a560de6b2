"""Who is issued a warning (SPEC §8 "Warnings"), as plain functions over the actor.

- A warning stands for a transfer or a call a customer is about to make, so only the
  organisations that move money or calls (bank, ewallet, telecom) receive one. Police and
  regulators look subjects up to investigate: a warning row for them would count as a
  "warning issued" in the reports and could never get an outcome. Their answers carry
  ``warning_id: null``.
- One warning per subject per request: a batch that names a subject 1,000 times is one
  payee screened, not 1,000 warnings (``record_lookups`` deduplicates by key).
"""

from __future__ import annotations

from app.auth.actor import Actor
from app.auth.scopes import OrgKind

WARNED_KINDS = frozenset({OrgKind.BANK, OrgKind.EWALLET, OrgKind.TELECOM})


def receives_warnings(actor: Actor) -> bool:
    return actor.org_kind in WARNED_KINDS
