"""The change-event vocabulary: what an event is about, what happened, and its fields.

Every writer names its events through these enums, and every reader (the change feed,
history, reports, verification) matches on them, so a typo is a type error rather than an
event nobody finds. The values are the strings stored in ``change_event`` and hashed into
the chain: renaming a member's value would break every existing chain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class EntityType(StrEnum):
    SUBJECT = "subject"
    FLAG = "flag"
    DISPUTE = "dispute"
    RECOVERY = "recovery"
    WARNING = "warning"
    # a digest over a range of warnings (app.warnings.seal): warnings are not chained
    WARNING_SEAL = "warning_seal"
    ORGANISATION = "organisation"
    CLIENT = "client"
    SECURITY = "security"
    SIGNING_KEY = "signing_key"
    USER = "user"
    HOLD = "hold"
    # the public portal: a citizen's report (reviewed by police) and a police bulletin
    CITIZEN_REPORT = "citizen_report"
    BULLETIN = "bulletin"
    WEBHOOK = "webhook"


class Action(StrEnum):
    # subject: its lookup answer changed (the change feed)
    ANSWER_CHANGED = "answer_changed"
    # flag: the status it moved to
    REPORTED = "reported"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    CLEARED = "cleared"
    # dispute (a rejected dispute is REJECTED too)
    OPENED = "opened"
    UPHELD = "upheld"
    # recovery ledger
    FREEZE = "freeze"
    RELEASE = "release"
    RETURN = "return"
    # hold between institutions (CONFIRMED, RELEASE and RETURN too)
    REQUESTED = "requested"
    HELD = "held"
    DECLINED = "declined"
    LAPSED = "lapsed"
    CANCELLED = "cancelled"
    # warning
    OUTCOME_RECORDED = "outcome_recorded"
    SEALED = "sealed"
    # organisation and client
    CREATED = "created"
    DEACTIVATED = "deactivated"
    REACTIVATED = "reactivated"
    REVOKED = "revoked"
    SECRET_ROTATED = "secret_rotated"  # noqa: S105 (an action name)
    # security
    ENUMERATION_BLOCKED = "enumeration_blocked"
    # signing key (CREATED too)
    RETIRED = "retired"
    # console user (CREATED too)
    ENROLLED = "enrolled"
    DISABLED = "disabled"
    CREDENTIALS_RESET = "credentials_reset"
    # citizen report (CREATED too): turned into a flag, or closed; bulletin
    FLAGGED = "flagged"
    CLOSED = "closed"
    PUBLISHED = "published"
    # webhook subscription (CREATED, SECRET_ROTATED, DISABLED too)
    DELETED = "deleted"


# The entity types whose events can change what a lookup answers or who may call.
MIRRORED_ENTITIES = (EntityType.SUBJECT, EntityType.CLIENT, EntityType.ORGANISATION)


@dataclass(frozen=True, slots=True)
class Change:
    """One change to one entity, as a service describes it; the unit of work adds the
    rest of the event (``seq``, time, actor, request, hashes)."""

    entity_type: EntityType
    entity_id: str
    entity_version: int
    action: Action
    state: dict[str, Any]
    subject_key: str | None = None
    occurred_at: datetime | None = field(default=None)
