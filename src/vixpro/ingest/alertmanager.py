"""Prometheus Alertmanager: the webhook receiver's version 4 payload.

One request carries a group of alerts (``alerts``); Alertmanager says in ``truncatedAlerts``
how many it left out because of the receiver's ``max_alerts``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, ClassVar

from vixpro.core.alerts import (
    NormalizedAlert,
    Status,
    fingerprint,
    host_hints,
    severity_from_word,
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

HOST_LABELS = ("instance", "host", "hostname", "nodename", "node", "server")


def alert_from_prometheus(
    source: str, item: dict[str, Any], where: str, *, group_status: str | None = None
) -> NormalizedAlert:
    """One Prometheus-style alert object (shared with Grafana, whose payload extends it)."""
    labels = string_map(require(item, "labels", dict, where))
    annotations = string_map(optional(item, "annotations", dict, where) or {})
    status_word = optional(item, "status", str, where) or group_status
    if status_word not in ("firing", "resolved"):
        raise PayloadError(f"'{where}.status' must be 'firing' or 'resolved'")
    title = (
        annotations.get("summary")
        or annotations.get("title")
        or labels.get("alertname")
        or "Alert without a name"
    )
    return NormalizedAlert(
        source=source,
        fingerprint=fingerprint(source, labels),
        status=Status(status_word),
        severity=severity_from_word(labels.get("severity") or labels.get("priority")),
        title=truncate(title, 500),
        description=truncate(
            annotations.get("description") or annotations.get("message") or "", 10_000
        ),
        labels=labels,
        annotations=annotations,
        starts_at=parse_time(item.get("startsAt"), f"{where}.startsAt"),
        ends_at=parse_time(item.get("endsAt"), f"{where}.endsAt")
        if status_word == "resolved"
        else None,
        host_hints=host_hints(*(labels.get(name) for name in HOST_LABELS)),
        source_url=optional(item, "generatorURL", str, where) or None,
        raw=item,
    )


class AlertmanagerAdapter:
    source: ClassVar[str] = "alertmanager"
    title: ClassVar[str] = "Prometheus Alertmanager"

    def parse(self, request: WebhookRequest, config: IntegrationConfig) -> Parsed:
        document = request.json_object()
        version = document.get("version")
        if version is not None and str(version) != "4":
            raise PayloadError(
                f"unsupported Alertmanager webhook version {version!r}; expected '4'"
            )
        items = require(document, "alerts", list)
        group_status = optional(document, "status", str)
        alerts = []
        for index, item in enumerate(items):
            where = f"alerts[{index}]"
            if not isinstance(item, dict):
                raise PayloadError(f"'{where}' must be an object")
            alerts.append(
                alert_from_prometheus(self.source, item, where, group_status=group_status)
            )
        truncated = optional(document, "truncatedAlerts", int) or 0
        return Parsed(alerts=tuple(alerts), truncated=max(0, truncated))

    def sample(self) -> bytes:
        return json.dumps(
            {
                "version": "4",
                "groupKey": '{}:{alertname="HighCPU"}',
                "truncatedAlerts": 0,
                "status": "firing",
                "receiver": "vixpro",
                "groupLabels": {"alertname": "HighCPU"},
                "commonLabels": {"alertname": "HighCPU", "severity": "warning"},
                "commonAnnotations": {},
                "externalURL": "http://alertmanager.example:9093",
                "alerts": [
                    {
                        "status": "firing",
                        "labels": {
                            "alertname": "HighCPU",
                            "instance": "web-1.example:9100",
                            "severity": "warning",
                            "vixpro_test": "true",
                        },
                        "annotations": {
                            "summary": "VixPro test alert: CPU above 90% on web-1",
                            "description": "Sent from the Integrations page to check the setup.",
                        },
                        "startsAt": datetime.now(UTC).isoformat(),
                        "endsAt": "0001-01-01T00:00:00Z",
                        "generatorURL": "http://prometheus.example:9090/graph",
                        "fingerprint": "0000000000000000",
                    }
                ],
            }
        ).encode()


ADAPTER = AlertmanagerAdapter()
