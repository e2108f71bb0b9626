"""New Relic: workflow webhook destinations, and the legacy alert-channel webhook.

A workflow's webhook payload is a Handlebars template the user controls. This adapter reads
the shape of New Relic's default template (one issue per request)::

    {"id": {{json issueId}}, "issueUrl": {{json issuePageUrl}},
     "title": {{json annotations.title.[0]}}, "priority": {{json priority}},
     "impactedEntities": {{json entitiesData.names}}, "totalIncidents": {{json totalIncidents}},
     "state": {{json state}}, "trigger": {{json triggerEvent}},
     "isCorrelated": {{json isCorrelated}}, "createdAt": {{createdAt}},
     "updatedAt": {{updatedAt}}, "sources": {{json accumulations.source}},
     "alertPolicyNames": {{json accumulations.policyName}},
     "alertConditionNames": {{json accumulations.conditionName}},
     "workflowName": {{json workflowName}}}

``issueId``, ``issuePageUrl`` and ``entitiesData`` are also read under those names, so a
template that passes the variables through unrenamed works too. The legacy channel payload
(``current_state`` open/acknowledged/closed, ``incident_id``, ``condition_name``,
``severity``, ``targets``) is recognised by its ``current_state``/``incident_id`` fields.

New Relic destinations can send a bearer token or basic auth; with a signing secret set, one
of the two must carry it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from vixpro.core.alerts import NormalizedAlert, Severity, Status, fingerprint, host_hints, truncate
from vixpro.ingest.base import (
    IntegrationConfig,
    Parsed,
    PayloadError,
    WebhookRequest,
    check_authorization,
    parse_time,
)

SOURCE = "newrelic"

# Workflow issue priority → severity. New Relic raises CRITICAL for critical-threshold
# incidents and HIGH for warning-threshold ones.
PRIORITIES: dict[str, Severity] = {
    "CRITICAL": Severity.CRITICAL,
    "HIGH": Severity.WARNING,
    "MEDIUM": Severity.WARNING,
    "LOW": Severity.INFO,
}

# Workflow issue state → (status, acknowledged).
STATES: dict[str, tuple[Status, bool]] = {
    "CREATED": (Status.FIRING, False),
    "ACTIVATED": (Status.FIRING, False),
    "ACKNOWLEDGED": (Status.FIRING, True),
    "CLOSED": (Status.RESOLVED, False),
}

# Legacy channel severity → severity; current_state → (status, acknowledged).
LEGACY_SEVERITIES: dict[str, Severity] = {
    "CRITICAL": Severity.CRITICAL,
    "WARNING": Severity.WARNING,
    "INFO": Severity.INFO,
}
LEGACY_STATES: dict[str, tuple[Status, bool]] = {
    "OPEN": (Status.FIRING, False),
    "ACKNOWLEDGED": (Status.FIRING, True),
    "CLOSED": (Status.RESOLVED, False),
}

MAX_LIST = 200


# ---- field readers (lenient about what templates render, strict about nonsense) ----------


def _text(document: Mapping[str, Any], *keys: str) -> str | None:
    """The first of ``keys`` holding a non-empty string or number, as text."""
    for key in keys:
        value = document.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise PayloadError(f"'{key}' must be a string, got {type(value).__name__}")
        text = str(value).strip()
        if text:
            return text
    return None


def _names(document: Mapping[str, Any], key: str) -> list[str]:
    """A list of names; a single string (a template without ``json``) counts as one."""
    value = document.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    if not isinstance(value, list):
        raise PayloadError(f"'{key}' must be a list of strings, got {type(value).__name__}")
    names = []
    for index, entry in enumerate(value[:MAX_LIST]):
        # Entities may be rendered as objects with a name.
        item = entry.get("name") if isinstance(entry, Mapping) else entry
        if item is None:
            continue
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise PayloadError(f"'{key}[{index}]' must be a string, got {type(item).__name__}")
        if str(item).strip():
            names.append(str(item).strip())
    return names


def _flag(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return value is True


def _time(document: Mapping[str, Any], key: str) -> datetime | None:
    return parse_time(document.get(key), key)


def _entity_names(document: Mapping[str, Any]) -> list[str]:
    names = _names(document, "impactedEntities")
    data = document.get("entitiesData")
    if isinstance(data, Mapping):
        names += _names(data, "names")
        names += _names(data, "entities")
    elif data is not None:
        raise PayloadError(f"'entitiesData' must be an object, got {type(data).__name__}")
    return list(dict.fromkeys(names))


def _test_flag(document: Mapping[str, Any], labels: dict[str, str]) -> None:
    if _flag(document.get("vixpro_test")):
        labels["vixpro_test"] = "true"


# ---- workflow issues -----------------------------------------------------------------------


def _workflow_issue(document: dict[str, Any]) -> NormalizedAlert:
    state_word = (_text(document, "state") or "").upper()
    if state_word not in STATES:
        raise PayloadError(
            "'state' must be one of CREATED, ACTIVATED, ACKNOWLEDGED or CLOSED, "
            f"got {state_word[:40]!r}"
            if state_word
            else "'state' is required (the default template's {{ json state }})"
        )
    status, acknowledged = STATES[state_word]
    trigger = _text(document, "trigger", "triggerEvent")
    acknowledged = acknowledged or (trigger or "").upper() == "ACKNOWLEDGED"
    acknowledged = acknowledged or _flag(document.get("isAcknowledged"))
    priority = (_text(document, "priority") or "").upper()
    severity = PRIORITIES.get(priority, Severity.WARNING)

    issue_id = _text(document, "id", "issueId")
    policies = _names(document, "alertPolicyNames")
    conditions = _names(document, "alertConditionNames")
    entities = _entity_names(document)
    sources = _names(document, "sources")
    workflow = _text(document, "workflowName")
    incidents = _text(document, "totalIncidents")

    identity: tuple[object, ...] = (
        ("issue", issue_id) if issue_id else ("issue-without-id", policies, conditions, entities)
    )
    title = (
        _text(document, "title", "issueTitle")
        or (conditions[0] if conditions else None)
        or "New Relic issue"
    )
    labels = {
        key: value
        for key, value in (
            ("issue_id", issue_id),
            ("priority", priority),
            ("state", state_word),
            ("trigger", trigger),
            ("workflow", workflow),
            ("policies", ", ".join(policies)),
            ("conditions", ", ".join(conditions)),
            ("entities", ", ".join(entities)),
            ("sources", ", ".join(sources)),
            ("correlated", "true" if _flag(document.get("isCorrelated")) else None),
        )
        if value
    }
    _test_flag(document, labels)
    lines = [
        f"{label}: {value}"
        for label, value in (
            ("Alert policies", ", ".join(policies)),
            ("Alert conditions", ", ".join(conditions)),
            ("Impacted entities", ", ".join(entities)),
            ("Incidents in this issue", incidents),
            ("Workflow", workflow),
        )
        if value
    ]
    description = _text(document, "description") or ""
    return NormalizedAlert(
        source=SOURCE,
        fingerprint=fingerprint(SOURCE, *identity),
        status=status,
        severity=severity,
        title=truncate(title, 500),
        description=truncate("\n".join([description, *lines]).strip(), 10_000),
        labels=labels,
        annotations={"total_incidents": incidents} if incidents else {},
        starts_at=_time(document, "createdAt"),
        ends_at=_time(document, "updatedAt") if status is Status.RESOLVED else None,
        host_hints=host_hints(entities),
        source_url=_text(document, "issueUrl", "issuePageUrl"),
        acknowledged=acknowledged,
        raw=document,
    )


# ---- legacy alert channels -----------------------------------------------------------------


def _targets(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    value = document.get("targets")
    if value is None:
        return []
    if not isinstance(value, list):
        raise PayloadError(f"'targets' must be a list, got {type(value).__name__}")
    for index, item in enumerate(value[:MAX_LIST]):
        if not isinstance(item, Mapping):
            raise PayloadError(f"'targets[{index}]' must be an object")
    return value[:MAX_LIST]


def _legacy_incident(document: dict[str, Any]) -> NormalizedAlert:
    state_word = (_text(document, "current_state") or "").upper()
    if state_word not in LEGACY_STATES:
        raise PayloadError(
            f"'current_state' must be open, acknowledged or closed, got {state_word[:40]!r}"
            if state_word
            else "'current_state' is required"
        )
    status, acknowledged = LEGACY_STATES[state_word]
    severity_word = (_text(document, "severity") or "").upper()
    severity = LEGACY_SEVERITIES.get(severity_word, Severity.WARNING)
    targets = _targets(document)
    target_names = [
        name for name in (_text(target, "name") for target in targets) if name is not None
    ]
    target_hosts = [
        target["labels"].get(key)
        for target in targets
        if isinstance(target.get("labels"), Mapping)
        for key in ("host", "hostname", "fullHostname")
    ]
    incident_id = _text(document, "incident_id")
    policy = _text(document, "policy_name")
    condition = _text(document, "condition_name")
    identity: tuple[object, ...] = (
        ("incident", incident_id) if incident_id else ("condition", policy, condition, target_names)
    )
    title = condition or policy or "New Relic incident"
    if target_names:
        title = f"{title} on {target_names[0]}"
    labels = {
        key: value
        for key, value in (
            ("incident_id", incident_id),
            ("state", state_word.lower()),
            ("severity", severity_word),
            ("policy", policy),
            ("condition", condition),
            ("targets", ", ".join(target_names)),
            ("account", _text(document, "account_name")),
        )
        if value
    }
    _test_flag(document, labels)
    runbook = _text(document, "runbook_url")
    when = _time(document, "timestamp")
    return NormalizedAlert(
        source=SOURCE,
        fingerprint=fingerprint(SOURCE, "legacy", *identity),
        status=status,
        severity=severity,
        title=truncate(title, 500),
        description=truncate(_text(document, "details", "condition_description") or "", 10_000),
        labels=labels,
        annotations={"runbook_url": runbook} if runbook else {},
        starts_at=when if status is Status.FIRING else None,
        ends_at=when if status is Status.RESOLVED else None,
        host_hints=host_hints(target_hosts, target_names),
        source_url=_text(document, "incident_url", "violation_chart_url"),
        acknowledged=acknowledged,
        raw=document,
    )


class NewRelicAdapter:
    source: ClassVar[str] = SOURCE
    title: ClassVar[str] = "New Relic"

    def parse(self, request: WebhookRequest, config: IntegrationConfig) -> Parsed:
        if config.signing_secret:
            check_authorization(request, config.signing_secret)
        try:
            document = request.json_object()
            if "current_state" in document or "incident_id" in document:
                alert = _legacy_incident(document)
            else:
                alert = _workflow_issue(document)
        except RecursionError as exc:
            raise PayloadError("the payload is nested too deeply") from exc
        return Parsed(alerts=(alert,))

    def sample(self) -> bytes:
        now = int(datetime.now(UTC).timestamp() * 1000)
        return json.dumps(
            {
                "id": "00000000-0000-4000-8000-00000000f1c0",
                "issueUrl": "https://one.newrelic.com/alerts-ai/issues",
                "title": "VixPro test alert: CPU % > 90 for at least 5 minutes on 'web-1.example'",
                "priority": "HIGH",
                "impactedEntities": ["web-1.example"],
                "totalIncidents": 1,
                "state": "ACTIVATED",
                "trigger": "STATE_CHANGE",
                "isCorrelated": False,
                "createdAt": now,
                "updatedAt": now,
                "sources": ["newrelic"],
                "alertPolicyNames": ["VixPro test policy"],
                "alertConditionNames": ["High CPU"],
                "workflowName": "VixPro",
                "vixpro_test": True,
            }
        ).encode()


ADAPTER = NewRelicAdapter()
