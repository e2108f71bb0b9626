"""All tables. Each later capability adds its own module here and imports it below."""

from __future__ import annotations

from vixpro.db.models.accounts import (
    ApiKey,
    Invitation,
    LoginSession,
    Membership,
    Organisation,
    Plan,
    User,
)
from vixpro.db.models.audit import AuditEvent
from vixpro.db.models.base import Base
from vixpro.db.models.throttle import ApiRequestCount, LoginFailure

__all__ = [
    "ApiKey",
    "ApiRequestCount",
    "AuditEvent",
    "Base",
    "Invitation",
    "LoginFailure",
    "LoginSession",
    "Membership",
    "Organisation",
    "Plan",
    "User",
]
