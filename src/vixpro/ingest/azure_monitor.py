"""Azure Monitor: action-group webhooks in the common alert schema.

One request is one alert instance: ``data.essentials`` carries the fields every alert type
shares (alert id, rule, ``Sev0``…``Sev4``, ``Fired``/``Resolved``, targets), ``data.alertContext``
varies with ``monitoringService`` (metric criteria, log queries, activity-log events, service
and resource health, budgets…), and ``data.customProperties`` holds the rule's own key/values.

Payloads in the older per-type schemas are refused: the action's "common alert schema" switch
must be on. Azure does not sign webhook calls (its "secure webhook" uses Entra ID tokens, which
a pure adapter cannot validate), so the webhook URL's token is the only credential.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import quote

from vixpro.core.alerts import (
    NormalizedAlert,
    Severity,
    Status,
    fingerprint,
    host_hints,
    string_map,
    truncate,
)
from vixpro.ingest.base import (
    IntegrationConfig,
    Parsed,
    PayloadError,
    WebhookRequest,
    optional,
    parse_time,
    require,
)

SOURCE = "azure_monitor"
SCHEMA_ID = "azureMonitorCommonAlertSchema"

SEVERITIES: dict[str, Severity] = {
    "sev0": Severity.CRITICAL,  # Critical
    "sev1": Severity.CRITICAL,  # Error
    "sev2": Severity.WARNING,  # Warning
    "sev3": Severity.INFO,  # Informational
    "sev4": Severity.INFO,  # Verbose
}
CONDITIONS: dict[str, Status] = {"fired": Status.FIRING, "resolved": Status.RESOLVED}

# Resource types whose resource name is a machine name.
MACHINE_TYPES = (
    "/providers/microsoft.compute/virtualmachines/",
    "/providers/microsoft.compute/virtualmachinescalesets/",
    "/providers/microsoft.hybridcompute/machines/",
    "/providers/microsoft.classiccompute/virtualmachines/",
)
# Dimension names whose value names a machine (log search alerts split by Computer, etc.),
# and those whose value is a resource id that may point at one.
HOST_DIMENSIONS = {"computer", "host", "hostname"}
RESOURCE_DIMENSIONS = {"resource", "_resourceid", "resourceid"}
PORTAL_ALERT = (
    "https://portal.azure.com/#blade/Microsoft_Azure_Monitoring_Alerts/"
    "AlertDetailsTemplateBlade/alertId/"
)
MAX_ITEMS = 100


def _refuse_other_schemas(document: Mapping[str, Any]) -> None:
    schema = document.get("schemaId")
    if isinstance(schema, str) and schema.strip().lower() == SCHEMA_ID.lower():
        return
    shown = f"schemaId {truncate(schema, 60)!r}" if schema is not None else "no schemaId"
    raise PayloadError(
        f"this payload has {shown}; VixPro reads only Azure Monitor's common alert schema. "
        "In the action group, edit the webhook action and turn on "
        "'Enable the common alert schema'"
    )


def _strings(value: object, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise PayloadError(f"'{where}' must be a list, got {type(value).__name__}")
    result = []
    for index, item in enumerate(value[:MAX_ITEMS]):
        if item is None:
            continue
        if not isinstance(item, str):
            raise PayloadError(f"'{where}[{index}]' must be a string, got {type(item).__name__}")
        if item.strip():
            result.append(item.strip())
    return result


def _machine_name(resource_id: str) -> str | None:
    """The machine name at the end of a VM / scale-set / Arc machine resource id."""
    lowered = resource_id.lower()
    if not any(kind in lowered for kind in MACHINE_TYPES):
        return None
    return resource_id.rstrip("/").rsplit("/", 1)[-1] or None


def _dicts(value: object) -> Iterable[Mapping[str, Any]]:
    if isinstance(value, list):
        return [item for item in value[:MAX_ITEMS] if isinstance(item, Mapping)]
    return []


def _criteria(context: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    condition = context.get("condition")
    return list(_dicts(condition.get("allOf"))) if isinstance(condition, Mapping) else []


def _dimensions(context: Mapping[str, Any]) -> list[tuple[str, str]]:
    found = []
    for holder in [context, *_criteria(context)]:
        for key in ("dimensions", "Dimensions"):
            for item in _dicts(holder.get(key)):
                name, value = item.get("name"), item.get("value")
                if isinstance(name, str) and isinstance(value, str):
                    found.append((name, value))
    return found


def _hosts(essentials: Mapping[str, Any], context: Mapping[str, Any], service: str) -> list[str]:
    hosts: list[str] = []
    if service.lower() != "costalerts":
        hosts += _strings(
            essentials.get("configurationItems"), "data.essentials.configurationItems"
        )
    for target in _strings(essentials.get("alertTargetIDs"), "data.essentials.alertTargetIDs"):
        name = _machine_name(target)
        if name:
            hosts.append(name)
    for name, value in _dimensions(context):
        if name.lower() in HOST_DIMENSIONS:
            hosts.append(value)
        elif name.lower() in RESOURCE_DIMENSIONS and value.startswith("/"):
            hosts.append(_machine_name(value) or "")
    affected = context.get("AffectedConfigurationItems")
    if isinstance(affected, list):
        hosts += [item for item in affected[:MAX_ITEMS] if isinstance(item, str)]
    return [host for host in hosts if host and not host.startswith("/")]


def _summary(context: Mapping[str, Any]) -> list[str]:
    """Human lines about what fired, for the common alert-context shapes."""
    lines = []
    for item in _criteria(context):
        metric = item.get("metricName") or item.get("searchQuery")
        if not isinstance(metric, str):
            continue
        parts = [
            str(item[key])
            for key in ("timeAggregation", "operator", "threshold")
            if isinstance(item.get(key), str | int | float)
        ]
        value = item.get("metricValue")
        shown = f" (value {value})" if isinstance(value, int | float) else ""
        lines.append(f"{metric} {' '.join(parts)}{shown}".strip())
    for key, label in (
        ("SearchQuery", "Query"),
        ("operationName", "Operation"),
        ("status", "Status"),
        ("caller", "Caller"),
        ("DetectionSummary", "Detection"),
    ):
        value = context.get(key)
        if isinstance(value, str) and value.strip():
            lines.append(f"{label}: {value.strip()}")
    properties = context.get("properties")
    if isinstance(properties, Mapping):
        for key in ("title", "currentHealthStatus", "cause", "communication"):
            value = properties.get(key)
            if isinstance(value, str) and value.strip():
                lines.append(f"{key}: {value.strip()}")
    return lines


def _title(essentials: Mapping[str, Any], context: Mapping[str, Any], hosts: list[str]) -> str:
    rule = optional(essentials, "alertRule", str, "data.essentials")
    if not rule:
        data = context.get("AlertData")
        budget = data.get("BudgetName") if isinstance(data, Mapping) else None
        rule = f"Budget alert: {budget}" if isinstance(budget, str) else None
    if not rule:
        description = optional(essentials, "description", str, "data.essentials")
        rule = description.strip()[:200] if description and description.strip() else None
    title = rule or "Azure Monitor alert"
    if hosts:
        title += " on " + ", ".join(hosts[:3]) + (" and more" if len(hosts) > 3 else "")
    return title


def _severity(essentials: Mapping[str, Any]) -> tuple[Severity, str]:
    word = optional(essentials, "severity", str, "data.essentials")
    if word is None or not word.strip():
        return Severity.WARNING, ""
    key = word.strip().lower()
    key = key if key.startswith("sev") else f"sev{key}"
    if key not in SEVERITIES:
        raise PayloadError(
            f"'data.essentials.severity' must be Sev0 to Sev4, got {truncate(word, 40)!r}"
        )
    return SEVERITIES[key], word.strip()


def _source_url(essentials: Mapping[str, Any], context: Mapping[str, Any]) -> str | None:
    link = essentials.get("investigationLink")
    if isinstance(link, str) and link.startswith("https://"):
        return link
    alert_id = essentials.get("alertId")
    if isinstance(alert_id, str) and "/providers/microsoft.alertsmanagement/alerts/" in (
        alert_id.lower()
    ):
        return PORTAL_ALERT + quote(alert_id.encode("utf-8", "surrogatepass"), safe="")
    for key in ("LinkToFilteredSearchResultsUI", "LinkToSearchResults"):
        value = context.get(key)
        if isinstance(value, str) and value.startswith("https://"):
            return value
    return None


def _alert(document: dict[str, Any]) -> NormalizedAlert:
    data = require(document, "data", dict)
    essentials = require(data, "essentials", dict, "data")
    context = optional(data, "alertContext", dict, "data") or {}
    condition = require(essentials, "monitorCondition", str, "data.essentials")
    if condition.strip().lower() not in CONDITIONS:
        raise PayloadError(
            "'data.essentials.monitorCondition' must be 'Fired' or 'Resolved', "
            f"got {truncate(condition, 40)!r}"
        )
    status = CONDITIONS[condition.strip().lower()]
    severity, severity_word = _severity(essentials)
    service = optional(essentials, "monitoringService", str, "data.essentials") or ""
    hosts = list(dict.fromkeys(_hosts(essentials, context, service)))
    alert_id = optional(essentials, "alertId", str, "data.essentials")
    origin_id = optional(essentials, "originAlertId", str, "data.essentials")
    rule = optional(essentials, "alertRule", str, "data.essentials")
    targets = _strings(essentials.get("alertTargetIDs"), "data.essentials.alertTargetIDs")
    identity = (
        ("alert", alert_id)
        if alert_id
        else ("origin", origin_id)
        if origin_id
        else ("rule", rule, sorted(targets))
    )
    condition_type = context.get("conditionType")
    labels = {
        key: value
        for key, value in (
            ("alert_rule", rule),
            ("severity", severity_word),
            ("signal_type", essentials.get("signalType")),
            ("monitoring_service", service),
            ("monitor_condition", condition.strip()),
            ("target_resource_type", essentials.get("targetResourceType")),
            ("target_resource_group", essentials.get("targetResourceGroup")),
            ("condition_type", condition_type),
        )
        if isinstance(value, str) and value
    }
    if "conditionType" in context:  # metric and log-search rules: the rule's own properties
        labels.update(string_map(context.get("properties")))
    labels.update(string_map(optional(data, "customProperties", dict, "data") or {}))
    description = optional(essentials, "description", str, "data.essentials") or ""
    summary = _summary(context)
    return NormalizedAlert(
        source=SOURCE,
        fingerprint=fingerprint(SOURCE, *identity),
        status=status,
        severity=severity,
        title=truncate(_title(essentials, context, hosts), 500),
        description=truncate("\n".join([description.strip(), *summary]).strip(), 10_000),
        labels={key: truncate(value, 1_000) for key, value in labels.items()},
        annotations={
            key: value
            for key, value in (("alert_id", alert_id), ("origin_alert_id", origin_id))
            if value
        },
        starts_at=parse_time(essentials.get("firedDateTime"), "data.essentials.firedDateTime"),
        ends_at=parse_time(essentials.get("resolvedDateTime"), "data.essentials.resolvedDateTime")
        if status is Status.RESOLVED
        else None,
        host_hints=host_hints(hosts),
        source_url=_source_url(essentials, context),
        raw=document,
    )


class AzureMonitorAdapter:
    source: ClassVar[str] = SOURCE
    title: ClassVar[str] = "Azure Monitor"

    def parse(self, request: WebhookRequest, config: IntegrationConfig) -> Parsed:
        try:
            document = request.json_object()
            _refuse_other_schemas(document)
            alert = _alert(document)
        except RecursionError as exc:
            raise PayloadError("the payload is nested too deeply") from exc
        return Parsed(alerts=(alert,))

    def sample(self) -> bytes:
        subscription = "00000000-0000-0000-0000-000000000000"
        vm = (
            f"/subscriptions/{subscription}/resourcegroups/vixpro-test/providers/"
            "microsoft.compute/virtualmachines/web-1"
        )
        return json.dumps(
            {
                "schemaId": SCHEMA_ID,
                "data": {
                    "essentials": {
                        "alertId": f"/subscriptions/{subscription}/providers/"
                        "Microsoft.AlertsManagement/alerts/00000000-0000-0000-0000-0000000f1c00",
                        "alertRule": "VixPro test alert: High CPU",
                        "severity": "Sev2",
                        "signalType": "Metric",
                        "monitorCondition": "Fired",
                        "monitoringService": "Platform",
                        "alertTargetIDs": [vm],
                        "configurationItems": ["web-1"],
                        "originAlertId": f"{subscription}_vixpro-test_microsoft.insights_"
                        "metricAlerts_VixPro-test_0",
                        "firedDateTime": datetime.now(UTC).isoformat(),
                        "description": "Sent from VixPro's Integrations page to check the setup.",
                        "essentialsVersion": "1.0",
                        "alertContextVersion": "1.0",
                    },
                    "alertContext": {
                        "properties": None,
                        "conditionType": "SingleResourceMultipleMetricCriteria",
                        "condition": {
                            "windowSize": "PT5M",
                            "allOf": [
                                {
                                    "metricName": "Percentage CPU",
                                    "metricNamespace": "Microsoft.Compute/virtualMachines",
                                    "operator": "GreaterThan",
                                    "threshold": "90",
                                    "timeAggregation": "Average",
                                    "dimensions": [],
                                    "metricValue": 97.5,
                                }
                            ],
                        },
                    },
                    "customProperties": {"vixpro_test": "true"},
                },
            }
        ).encode()


ADAPTER = AzureMonitorAdapter()
