"""Uptime Kuma: the Webhook notification with the "application/json" request body.

The body is ``{"heartbeat": {...}, "monitor": {...}, "msg": "..."}``. ``heartbeat.status`` is
0 (down), 1 (up), 2 (pending) or 3 (maintenance). Messages that are not about a heartbeat (the
notification's "Test" button, certificate-expiry notices) come with a null ``heartbeat``: the
test message ("<notification name> Testing") becomes one info alert labelled ``vixpro_test``, and
any other such message a warning about its monitor (or about the message itself).

Uptime Kuma cannot sign requests but can send additional headers, so when the integration has
a signing secret it must arrive in ``X-VixPro-Secret`` (or the header named by
``options["secret_header"]``). The payload carries no link back to Uptime Kuma; set
``options["base_url"]`` to Uptime Kuma's address to get one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from vixpro.core.alerts import (
    NormalizedAlert,
    Severity,
    Status,
    fingerprint,
    host_hints,
    severity_from_word,
    truncate,
)
from vixpro.ingest.base import (
    IntegrationConfig,
    Parsed,
    PayloadError,
    WebhookRequest,
    check_secret_header,
    optional,
    parse_time,
    require,
)

MAX_LABEL_VALUE = 1000
MAX_TAGS = 200
HOST_TAGS = ("host", "hostname", "server", "instance")

DOWN, UP, PENDING, MAINTENANCE = 0, 1, 2, 3
# heartbeat.status → (status, default severity, how the title says it)
STATES: dict[int, tuple[Status, Severity, str]] = {
    DOWN: (Status.FIRING, Severity.CRITICAL, "is down"),
    UP: (Status.RESOLVED, Severity.INFO, "is up"),
    PENDING: (Status.FIRING, Severity.WARNING, "is pending"),
    MAINTENANCE: (Status.RESOLVED, Severity.INFO, "is in maintenance"),
}


def _monitor_id(monitor: Mapping[str, Any], heartbeat: Mapping[str, Any] | None) -> str:
    value = monitor.get("id")
    where = "monitor.id"
    if value is None and heartbeat is not None:
        value, where = heartbeat.get("monitorID"), "heartbeat.monitorID"
    if value is None:
        raise PayloadError("'monitor.id' is required")
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip():
        raise PayloadError(f"'{where}' must be a number, got {type(value).__name__}")
    return str(value).strip()


def _tags(monitor: Mapping[str, Any]) -> dict[str, str]:
    """Monitor tags ({"name", "value"}) as labels."""
    items = optional(monitor, "tags", list, "monitor") or []
    labels: dict[str, str] = {}
    for index, item in enumerate(items[:MAX_TAGS]):
        if isinstance(item, str):  # some versions list tag names only
            labels[item] = ""
            continue
        if not isinstance(item, dict):
            raise PayloadError(f"'monitor.tags[{index}]' must be an object")
        name = require(item, "name", str, f"monitor.tags[{index}]")
        value = item.get("value")
        labels[name] = truncate(value if isinstance(value, str) else "", MAX_LABEL_VALUE)
    return labels


def _monitor_labels(monitor: Mapping[str, Any], monitor_id: str) -> dict[str, str]:
    labels = _tags(monitor)
    labels["monitor_id"] = monitor_id
    for key, label in (("name", "monitor_name"), ("type", "monitor_type")):
        value = optional(monitor, key, str, "monitor")
        if value:
            labels[label] = truncate(value, MAX_LABEL_VALUE)
    return labels


def _target(monitor: Mapping[str, Any]) -> str | None:
    """What the monitor checks: its URL, or host and port."""
    url: str | None = optional(monitor, "url", str, "monitor")
    if url and url.strip() not in ("", "http://", "https://"):
        return url.strip()
    hostname: str | None = optional(monitor, "hostname", str, "monitor")
    if not hostname:
        return None
    port = monitor.get("port")
    return (
        f"{hostname}:{port}" if isinstance(port, int) and not isinstance(port, bool) else hostname
    )


def _hints(monitor: Mapping[str, Any], labels: Mapping[str, str]) -> tuple[str, ...]:
    url = optional(monitor, "url", str, "monitor")
    return host_hints(
        optional(monitor, "hostname", str, "monitor"),
        url if url and url.strip() not in ("http://", "https://") else None,
        *(labels.get(name) for name in HOST_TAGS),
    )


def _source_url(config: IntegrationConfig, monitor_id: str | None) -> str | None:
    base = config.options.get("base_url")
    if not isinstance(base, str) or not base.startswith(("http://", "https://")):
        return None
    base = base.rstrip("/")
    return f"{base}/dashboard/{monitor_id}" if monitor_id else f"{base}/dashboard"


def heartbeat_alert(
    document: Mapping[str, Any],
    heartbeat: Mapping[str, Any],
    monitor: Mapping[str, Any],
    config: IntegrationConfig,
) -> NormalizedAlert:
    state = require(heartbeat, "status", int, "heartbeat")
    if state not in STATES:
        raise PayloadError(
            "'heartbeat.status' must be 0 (down), 1 (up), 2 (pending) or 3 (maintenance), "
            f"got {truncate(state, 40)}"
        )
    status, default_severity, phrase = STATES[state]
    monitor_id = _monitor_id(monitor, heartbeat)
    labels = _monitor_labels(monitor, monitor_id)
    name = labels.get("monitor_name") or f"Monitor {monitor_id}"
    detail = optional(heartbeat, "msg", str, "heartbeat") or ""
    target = _target(monitor)
    lines = [detail, f"Target: {target}" if target else "", optional(document, "msg", str) or ""]
    when = parse_time(heartbeat.get("time"), "heartbeat.time")
    return NormalizedAlert(
        source=UptimeKumaAdapter.source,
        fingerprint=fingerprint(UptimeKumaAdapter.source, monitor_id),
        status=status,
        severity=severity_from_word(labels.get("severity"), default_severity)
        if status is Status.FIRING
        else default_severity,
        title=truncate(f"{name} {phrase}", 500),
        description=truncate("\n\n".join(line for line in lines if line), 10_000),
        labels=labels,
        annotations={"heartbeat_msg": truncate(detail, 10_000)} if detail else {},
        starts_at=when if status is Status.FIRING else None,
        ends_at=when if status is Status.RESOLVED else None,
        host_hints=_hints(monitor, labels),
        source_url=_source_url(config, monitor_id),
        raw=document,
    )


def message_alert(
    document: Mapping[str, Any], monitor: Mapping[str, Any] | None, config: IntegrationConfig
) -> NormalizedAlert:
    """A notification without a heartbeat: the Test button, or a notice such as cert expiry."""
    msg = require(document, "msg", str).strip()
    if not msg:
        raise PayloadError("'msg' is empty and there is no 'heartbeat'")
    if msg.endswith("Testing") and monitor is None:
        return NormalizedAlert(
            source=UptimeKumaAdapter.source,
            fingerprint=fingerprint(UptimeKumaAdapter.source, "notification test"),
            status=Status.FIRING,
            severity=Severity.INFO,
            title=truncate(f"Uptime Kuma test: {msg}", 500),
            description="Sent by the Test button of the VixPro notification in Uptime Kuma.",
            labels={"vixpro_test": "true"},
            source_url=_source_url(config, None),
            raw=document,
        )
    monitor_id = _monitor_id(monitor, None) if monitor is not None else None
    labels = _monitor_labels(monitor, monitor_id) if monitor is not None and monitor_id else {}
    # Numbers change from one notice to the next ("expires in 14 days"); the notice does not.
    notice = re.sub(r"\d+", "#", msg)
    return NormalizedAlert(
        source=UptimeKumaAdapter.source,
        fingerprint=fingerprint(UptimeKumaAdapter.source, monitor_id, "notice", notice),
        status=Status.FIRING,
        severity=severity_from_word(labels.get("severity"), Severity.WARNING),
        title=truncate(msg, 500),
        description=truncate(msg, 10_000),
        labels=labels,
        host_hints=_hints(monitor, labels) if monitor is not None else (),
        source_url=_source_url(config, monitor_id),
        raw=document,
    )


def verify_secret(request: WebhookRequest, config: IntegrationConfig) -> None:
    """Uptime Kuma cannot sign; an additional header carries the integration's secret."""
    check_secret_header(request, config, "add it to the notification's Additional Headers")


def _document(request: WebhookRequest) -> dict[str, Any]:
    content_type = (request.header("content-type") or "").lower()
    if content_type.startswith("multipart/form-data"):
        raise PayloadError(
            "the body is form-data; set the Uptime Kuma notification's Request Body to "
            "'Preset - application/json'"
        )
    return request.json_object()


class UptimeKumaAdapter:
    source: ClassVar[str] = "uptime_kuma"
    title: ClassVar[str] = "Uptime Kuma"

    def parse(self, request: WebhookRequest, config: IntegrationConfig) -> Parsed:
        verify_secret(request, config)
        try:
            document = _document(request)
            heartbeat = optional(document, "heartbeat", dict)
            monitor = optional(document, "monitor", dict)
            if heartbeat is None:
                return Parsed(alerts=(message_alert(document, monitor, config),))
            if monitor is None:
                raise PayloadError("'monitor' is required when 'heartbeat' is given")
            return Parsed(alerts=(heartbeat_alert(document, heartbeat, monitor, config),))
        except PayloadError:
            raise
        except (ValueError, TypeError, KeyError, IndexError, RecursionError) as exc:
            # Odd input the checks above did not foresee still gets a reason, not a crash.
            raise PayloadError(f"the Uptime Kuma payload could not be read: {exc}") from exc

    def sample(self) -> bytes:
        now = datetime.now(UTC)
        return json.dumps(
            {
                "heartbeat": {
                    "monitorID": 1,
                    "status": 0,
                    "time": now.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
                    "msg": "VixPro test alert: connect ECONNREFUSED 192.0.2.10:443",
                    "important": True,
                    "duration": 60,
                    "timezone": "UTC",
                    "timezoneOffset": "+00:00",
                    "localDateTime": now.strftime("%Y-%m-%d %H:%M:%S"),
                },
                "monitor": {
                    "id": 1,
                    "name": "web-1 HTTPS",
                    "description": "Sent from the Integrations page to check the setup.",
                    "pathName": "web-1 HTTPS",
                    "url": "https://web-1.example/health",
                    "method": "GET",
                    "hostname": None,
                    "port": None,
                    "type": "http",
                    "interval": 60,
                    "active": True,
                    "tags": [
                        {"tag_id": 1, "monitor_id": 1, "value": "true", "name": "vixpro_test"}
                    ],
                },
                "msg": "[web-1 HTTPS] [🔴 Down] VixPro test alert: connect ECONNREFUSED",
            }
        ).encode()


ADAPTER = UptimeKumaAdapter()
