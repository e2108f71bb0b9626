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
from vixpro.db.models.incidents import (
    Alert,
    AlertBudgetCount,
    AlertRate,
    Diagnosis,
    Incident,
    IncidentEvent,
    IncidentSettings,
    Integration,
    MaintenanceWindow,
    OrgEvent,
    RejectedPayload,
    Storm,
)
from vixpro.db.models.servers import EnrollmentToken, Server, ServerEvent
from vixpro.db.models.throttle import ApiRequestCount, LoginFailure
from vixpro.db.models.tools import (
    ActionItem,
    Approval,
    Manifest,
    PlatformKey,
    ToolExecution,
    ToolSetting,
)

__all__ = [
    "ActionItem",
    "Alert",
    "AlertBudgetCount",
    "AlertRate",
    "ApiKey",
    "ApiRequestCount",
    "Approval",
    "AuditEvent",
    "Base",
    "Diagnosis",
    "EnrollmentToken",
    "Incident",
    "IncidentEvent",
    "IncidentSettings",
    "Integration",
    "Invitation",
    "LoginFailure",
    "LoginSession",
    "MaintenanceWindow",
    "Manifest",
    "Membership",
    "OrgEvent",
    "Organisation",
    "Plan",
    "PlatformKey",
    "RejectedPayload",
    "Server",
    "ServerEvent",
    "Storm",
    "ToolExecution",
    "ToolSetting",
    "User",
]
