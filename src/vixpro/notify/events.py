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
    CHANNEL_FAILING = "notify.channel_failing"


# What a person reads on the rules form, in the order shown.
LABELS: dict[EventKind, str] = {
    EventKind.INCIDENT_OPENED: "Incident opened",
    EventKind.INCIDENT_ACKNOWLEDGED: "Incident acknowledged",
    EventKind.INCIDENT_RESOLVED: "Incident resolved",
    EventKind.DIAGNOSIS_READY: "Diagnosis ready",
    EventKind.ESCALATION: "Escalated to people",
    EventKind.APPROVAL_REQUESTED: "Approval requested",
    EventKind.HOST_AGENT_OFFLINE: "Host agent offline",
    EventKind.HOST_AGENT_TAMPERED: "Host agent tampered",
    EventKind.BUDGET_EXCEEDED: "Alert budget exceeded",
    EventKind.STORM: "Alert storm",
    EventKind.ACTION_ITEM_CHANGED: "Action item changed",
    EventKind.TICKET_REPLY: "Support ticket reply",
    EventKind.MAINTENANCE_ANNOUNCED: "Scheduled maintenance announced",
    EventKind.CHANNEL_FAILING: "A notification channel is failing",
}
# The kinds a rule may choose (everything above).
RULE_KINDS = tuple(LABELS)
# A new channel's rules unless its creator chooses: what an on-call person wants paged.
DEFAULT_KINDS = (
    EventKind.INCIDENT_OPENED,
    EventKind.INCIDENT_ACKNOWLEDGED,
    EventKind.INCIDENT_RESOLVED,
    EventKind.ESCALATION,
    EventKind.HOST_AGENT_OFFLINE,
    EventKind.HOST_AGENT_TAMPERED,
)
