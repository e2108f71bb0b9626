"""Grafana unified alerting: the webhook contact point's payload (``version`` "1").

The payload is Alertmanager's webhook shape (``alerts`` with labels, annotations, times,
``generatorURL``) plus Grafana's own fields: ``orgId``, ``title``, ``state``, ``message`` at the
top, and ``silenceURL``, ``dashboardURL``, ``panelURL``, ``imageURL`` and ``values`` on each alert.

Signing: the contact point's optional HMAC setting signs the raw body with HMAC-SHA256 (hex) and
puts it in ``X-Grafana-Alerting-Signature`` (the header name is configurable in Grafana, so here
through ``options["signature_header"]``). When a timestamp header is configured in Grafana, the
signed message is ``<unix seconds>:<body>`` and the timestamp travels in that header.
"""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import UTC, datetime
from typing import Any, ClassVar

from vixpro.core.alerts import NormalizedAlert, truncate
from vixpro.ingest.alertmanager import alert_from_prometheus
from vixpro.ingest.base import (
    IntegrationConfig,
    Parsed,
    PayloadError,
    WebhookRequest,
    check_hmac,
    check_timestamp,
    optional,
    require,
)

DEFAULT_SIGNATURE_HEADER = "x-grafana-alerting-signature"
# Grafana's HMAC code once defaulted to this name; accepted when no header is configured.
LEGACY_SIGNATURE_HEADER = "x-grafana-alert-signature"
# Grafana has no default timestamp header; these are the names its documentation uses.
CONVENTIONAL_TIMESTAMP_HEADERS = (
    "x-grafana-alerting-timestamp",
    "x-grafana-alerting-signature-timestamp",
)
SUPPORTED_VERSION = "1"
MAX_VALUES_SHOWN = 20


def _option(config: IntegrationConfig, name: str) -> str | None:
    value = config.options.get(name)
    return value.strip().lower() if isinstance(value, str) and value.strip() else None


def _signature(request: WebhookRequest, config: IntegrationConfig) -> tuple[str, str | None]:
    """The header name to report and the signature it carries."""
    configured = _option(config, "signature_header")
    if configured:
        return configured, request.header(configured)
    given = request.header(DEFAULT_SIGNATURE_HEADER)
    if given is None:
        given = request.header(LEGACY_SIGNATURE_HEADER)
    return DEFAULT_SIGNATURE_HEADER, given


def _timestamp(request: WebhookRequest, config: IntegrationConfig) -> tuple[str, str | None]:
    """The timestamp header name and value, if the request is signed with a timestamp."""
    configured = _option(config, "timestamp_header")
    if configured:
        return configured, request.header(configured)
    for name in CONVENTIONAL_TIMESTAMP_HEADERS:
        value = request.header(name)
        if value is not None:
            return name, value
    return "", None


def verify_signature(request: WebhookRequest, config: IntegrationConfig) -> None:
    """Check Grafana's HMAC-SHA256 when the integration has a signing secret."""
    secret = config.signing_secret
    if not secret:
        return
    header, given = _signature(request, config)
    stamp_header, stamp = _timestamp(request, config)
    message = request.body
    if stamp_header:
        check_timestamp(stamp, header=stamp_header)
        message = (stamp or "").strip().encode() + b":" + request.body
    check_hmac(secret, message, given, header=header)


def _first_url(item: dict[str, Any], where: str) -> str | None:
    """The most specific link back into Grafana: panel, then dashboard, then the rule."""
    for key in ("panelURL", "dashboardURL", "generatorURL"):
        value: str | None = optional(item, key, str, where)
        if value and value.strip():
            return value.strip()
    return None


def _format_value(value: object) -> str:
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.6g}"
    return json.dumps(value, default=str) if not isinstance(value, str) else value


def _values_text(item: dict[str, Any], where: str) -> str:
    values = optional(item, "values", dict, where)
    if not values:
        return ""
    shown = list(values.items())[:MAX_VALUES_SHOWN]
    return "Values: " + ", ".join(f"{key}={_format_value(value)}" for key, value in shown)


def _grafana_alert(item: dict[str, Any], where: str, group_status: str | None) -> NormalizedAlert:
    alert = alert_from_prometheus(GrafanaAdapter.source, item, where, group_status=group_status)
    description = alert.description
    values = _values_text(item, where)
    if values:
        description = f"{description}\n\n{values}" if description else values
    return dataclasses.replace(
        alert,
        description=truncate(description, 10_000),
        source_url=_first_url(item, where),
    )


def _check_shape(document: dict[str, Any]) -> None:
    if "alerts" not in document and ("evalMatches" in document or "ruleId" in document):
        raise PayloadError(
            "this is a legacy Grafana alerting payload ('evalMatches'/'ruleId'); "
            "use a unified alerting webhook contact point"
        )
    version = document.get("version")
    if version is not None and str(version) != SUPPORTED_VERSION:
        raise PayloadError(
            f"unsupported Grafana webhook version {truncate(repr(version), 40)}; "
            f"expected '{SUPPORTED_VERSION}'"
        )


class GrafanaAdapter:
    source: ClassVar[str] = "grafana"
    title: ClassVar[str] = "Grafana Alerting"

    def parse(self, request: WebhookRequest, config: IntegrationConfig) -> Parsed:
        verify_signature(request, config)
        try:
            return self._parse(request)
        except PayloadError:
            raise
        except (ValueError, TypeError, KeyError, IndexError, RecursionError) as exc:
            # Odd input the checks above did not foresee still gets a reason, not a crash.
            raise PayloadError(f"the Grafana payload could not be read: {exc}") from exc

    def _parse(self, request: WebhookRequest) -> Parsed:
        document = request.json_object()
        _check_shape(document)
        items = require(document, "alerts", list)
        group_status = optional(document, "status", str)
        alerts = []
        for index, item in enumerate(items):
            where = f"alerts[{index}]"
            if not isinstance(item, dict):
                raise PayloadError(f"'{where}' must be an object")
            alerts.append(_grafana_alert(item, where, group_status))
        truncated = optional(document, "truncatedAlerts", int) or 0
        return Parsed(alerts=tuple(alerts), truncated=max(0, truncated))

    def sample(self) -> bytes:
        now = datetime.now(UTC).isoformat()
        return json.dumps(
            {
                "receiver": "VixPro",
                "status": "firing",
                "orgId": 1,
                "alerts": [
                    {
                        "status": "firing",
                        "labels": {
                            "alertname": "High CPU usage",
                            "grafana_folder": "Servers",
                            "instance": "web-1.example:9100",
                            "severity": "warning",
                            "vixpro_test": "true",
                        },
                        "annotations": {
                            "summary": "VixPro test alert: CPU above 90% on web-1",
                            "description": "Sent from the Integrations page to check the setup.",
                        },
                        "startsAt": now,
                        "endsAt": "0001-01-01T00:00:00Z",
                        "generatorURL": "https://grafana.example/alerting/grafana/vixpro-test/view",
                        "fingerprint": "0000000000000000",
                        "silenceURL": "https://grafana.example/alerting/silence/new",
                        "dashboardURL": "https://grafana.example/d/servers",
                        "panelURL": "https://grafana.example/d/servers?viewPanel=2",
                        "values": {"B": 93.5, "C": 1},
                    }
                ],
                "groupLabels": {"alertname": "High CPU usage"},
                "commonLabels": {"alertname": "High CPU usage", "vixpro_test": "true"},
                "commonAnnotations": {},
                "externalURL": "https://grafana.example/",
                "version": "1",
                "groupKey": '{}:{alertname="High CPU usage"}',
                "truncatedAlerts": 0,
                "title": "[FIRING:1] High CPU usage",
                "state": "alerting",
                "message": "VixPro test alert",
            }
        ).encode()


ADAPTER = GrafanaAdapter()
