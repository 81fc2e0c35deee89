"""Every model, imported once so that metadata (and Alembic) sees all tables."""

from proofdesk.accounts.models import SetupToken, User, UserSession
from proofdesk.activity import Activity
from proofdesk.customer_login.models import (
    CustomerCredential,
    CustomerInvite,
    CustomerPasswordReset,
    CustomerResetRequest,
    CustomerSession,
)
from proofdesk.customers.models import Customer
from proofdesk.db import Base
from proofdesk.designer_notifications.models import NotificationPreferences, UnreadMarks
from proofdesk.notifications.models import (
    CustomerNotification,
    SmtpSettings,
    StaffNotification,
    StaffNotificationEvent,
)
from proofdesk.proofs.models import Proof, ProofPage, ProofVersion
from proofdesk.ratelimit import RateLimitCounter
from proofdesk.review.models import Comment, Decision, ShareLink

__all__ = [
    "Activity",
    "Base",
    "Comment",
    "Customer",
    "CustomerCredential",
    "CustomerInvite",
    "CustomerNotification",
    "CustomerPasswordReset",
    "CustomerResetRequest",
    "CustomerSession",
    "Decision",
    "NotificationPreferences",
    "Proof",
    "ProofPage",
    "ProofVersion",
    "RateLimitCounter",
    "SetupToken",
    "ShareLink",
    "SmtpSettings",
    "StaffNotification",
    "StaffNotificationEvent",
    "UnreadMarks",
    "User",
    "UserSession",
]
