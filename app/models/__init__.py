"""Table models, one module per table; importing this package registers them all."""

from app.models.bulletin import Bulletin
from app.models.change_event import ChangeEvent
from app.models.citizen_report import CitizenReport
from app.models.client import Client
from app.models.console_session import ConsoleSession
from app.models.dispute import Dispute
from app.models.flag import Flag
from app.models.hold import Hold
from app.models.idempotency_record import IdempotencyRecord
from app.models.lookup_count import LookupCount
from app.models.notification import Notification
from app.models.organisation import Organisation
from app.models.public_check_count import PublicCheckCount
from app.models.recovery_entry import RecoveryEntry
from app.models.registry_head import RegistryHead
from app.models.signing_key import SigningKey
from app.models.staff_user import StaffUser
from app.models.subject import Subject
from app.models.warning import Warning
from app.models.webhook_delivery import WebhookDelivery
from app.models.webhook_subscription import WebhookSubscription

__all__ = [
    "Bulletin",
    "ChangeEvent",
    "CitizenReport",
    "Client",
    "ConsoleSession",
    "Dispute",
    "Flag",
    "Hold",
    "IdempotencyRecord",
    "LookupCount",
    "Notification",
    "Organisation",
    "PublicCheckCount",
    "RecoveryEntry",
    "RegistryHead",
    "SigningKey",
    "StaffUser",
    "Subject",
    "Warning",
    "WebhookDelivery",
    "WebhookSubscription",
]
