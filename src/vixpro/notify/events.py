"""The kinds of event a notification rule can choose."""

from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    INCIDENT_OPENED = "incident.opened"
    INCIDENT_ACKNOWLEDGED = "incident.acknowledged"
    INCIDENT_RESOLVED = "incident.resolved"
    DIAGNOSIS_READY = "diagnosis.ready"
    ESCALATION = "diagnosis.escalated"
    APPROVAL_REQUESTED = "approval.requested"
    HOST_AGENT_OFFLINE = "hostagent.offline"
    HOST_AGENT_TAMPERED = "hostagent.tampered"
    BUDGET_EXCEEDED = "budget.exceeded"
    STORM = "storm"
    ACTION_ITEM_CHANGED = "action_item.changed"
    TICKET_REPLY = "ticket.reply"
    MAINTENANCE_ANNOUNCED = "maintenance.announced"
