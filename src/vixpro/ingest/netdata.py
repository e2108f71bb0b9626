"""Netdata Cloud: the webhook integration's alert, reachability and test notifications.

Netdata Cloud posts one JSON object per notification. Three shapes exist:

* alert notifications (``alert``, ``severity`` warning/critical/clear, ``chart``, ``context``,
  ``space``, ``rooms``, ``alert_url``…; older payloads say ``alarm``/``alarm_url``),
* reachability notifications (``host``, ``status.reachable``, ``url``),
* the test notification sent by the integration's *Test* button (``title``, ``message``,
  ``token``): the token must be typed back into Netdata to finish the setup, so it becomes an
  informational alert whose title shows it.

Netdata can authenticate its requests with a bearer token or basic auth; when the integration
has a signing secret, one of the two must carry it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from vixpro.core.alerts import (
    NormalizedAlert,
    Severity,
    Status,
    fingerprint,
    host_hints,
    truncate,
)
from vixpro.ingest.base import (
    IntegrationConfig,
    Parsed,
    PayloadError,
    WebhookRequest,
    check_authorization,
    optional,
    parse_time,
)

SOURCE = "netdata"

# Netdata's alert severities → (status, severity).
ALERT_SEVERITIES: dict[str, tuple[Status, Severity]] = {
    "critical": (Status.FIRING, Severity.CRITICAL),
    "warning": (Status.FIRING, Severity.WARNING),
    "clear": (Status.RESOLVED, Severity.INFO),
}

# Fields that name the node; the documented schema has none, but some Netdata Cloud payloads
# carry one and users' proxies often add one.
HOST_FIELDS = ("host", "hostname", "node", "node_name", "nodeName")


def _text(document: Mapping[str, Any], *keys: str) -> str | None:
    """The first of ``keys`` present as a non-empty string (a wrong type is refused)."""
    for key in keys:
        value: str | None = optional(document, key, str)
        if value and value.strip():
            return value.strip()
    return None


def _count(document: Mapping[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = document.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise PayloadError(f"'{key}' must be an integer, got {type(value).__name__}")
        if isinstance(value, str) and not (
            value.strip().isascii() and value.strip().isdigit() and len(value.strip()) < 19
        ):
            raise PayloadError(f"'{key}' must be an integer, got {value[:40]!r}")
        return int(value)
    return None


def _host(document: Mapping[str, Any]) -> str | None:
    for key in HOST_FIELDS:
        value = document.get(key)
        if isinstance(value, Mapping):
            value = value.get("hostname") or value.get("name")
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _room_names(value: object) -> list[str]:
    """Rooms arrive as ``{name: url}`` or as ``[{"name": …, "url": …}]``; anything else is skipped."""
    if isinstance(value, Mapping):
        return [str(name) for name in value][:50]
    if isinstance(value, list):
        names = [item.get("name") for item in value if isinstance(item, Mapping)]
        return [name for name in names if isinstance(name, str)][:50]
    return []


def _test_flag(document: Mapping[str, Any], labels: dict[str, str]) -> None:
    if document.get("vixpro_test"):
        labels["vixpro_test"] = "true"


def _alert(document: dict[str, Any]) -> NormalizedAlert:
    name = _text(document, "alert", "alarm")
    if name is None:
        raise PayloadError("'alert' is required")
    word = (_text(document, "severity") or "").lower()
    if word not in ALERT_SEVERITIES:
        raise PayloadError(
            f"'severity' must be 'critical', 'warning' or 'clear', got {word[:40]!r}"
            if word
            else "'severity' is required"
        )
    status, severity = ALERT_SEVERITIES[word]
    host = _host(document)
    space = _text(document, "space") or ""
    chart = _text(document, "chart") or ""
    context = _text(document, "context") or ""
    rooms = _room_names(document.get("rooms", document.get("Rooms")))
    labels = {
        "alert": name,
        "severity": word,
        **{
            key: value
            for key, value in (
                ("chart", chart),
                ("context", context),
                ("space", space),
                ("family", _text(document, "family")),
                ("class", _text(document, "class")),
                ("host", host),
                ("rooms", ", ".join(rooms)),
            )
            if value
        },
    }
    _test_flag(document, labels)
    critical = _count(document, "additional_active_critical_alerts", "critical_count")
    warning = _count(document, "additional_active_warning_alerts", "warning_count")
    annotations = {
        key: str(value)
        for key, value in (
            ("message", _text(document, "message")),
            ("info", _text(document, "info")),
            ("duration", _text(document, "duration")),
            ("additional_active_critical_alerts", critical),
            ("additional_active_warning_alerts", warning),
        )
        if value is not None
    }
    when = parse_time(document.get("date"), "date")
    title = annotations.get("message") or f"{name} is {word}" + (f" on {host}" if host else "")
    return NormalizedAlert(
        source=SOURCE,
        fingerprint=fingerprint(SOURCE, "alert", space, (host or "").lower(), name, chart, context),
        status=status,
        severity=severity,
        title=truncate(title, 500),
        description=truncate(annotations.get("info", ""), 10_000),
        labels=labels,
        annotations=annotations,
        starts_at=when if status is Status.FIRING else None,
        ends_at=when if status is Status.RESOLVED else None,
        host_hints=host_hints(host),
        source_url=_text(document, "alert_url", "alarm_url"),
        raw=document,
    )


def _reachability(document: dict[str, Any]) -> NormalizedAlert:
    host = _text(document, "host")
    if host is None:
        raise PayloadError("'host' is required in a reachability notification")
    state = optional(document, "status", dict)
    reachable: object = None
    if state is not None:
        reachable = state.get("reachable")
        if reachable is not None and not isinstance(reachable, bool):
            raise PayloadError(
                f"'status.reachable' must be true or false, got {type(reachable).__name__}"
            )
        if reachable is None:
            text = optional(state, "text", str, "status")
            if text is not None:
                reachable = text.strip().lower() == "reachable"
    if reachable is None:
        word = (_text(document, "severity") or "").lower()
        if word not in ("info", "critical"):
            raise PayloadError("'status.reachable' is required in a reachability notification")
        reachable = word == "info"
    status = Status.RESOLVED if reachable else Status.FIRING
    text = "reachable" if reachable else "unreachable"
    labels = {"alert": "node_reachability", "host": host, "reachability": text}
    _test_flag(document, labels)
    message = _text(document, "message")
    return NormalizedAlert(
        source=SOURCE,
        fingerprint=fingerprint(SOURCE, "reachability", host.lower()),
        status=status,
        severity=Severity.INFO if reachable else Severity.CRITICAL,
        title=truncate(message or f"{host} is {text}", 500),
        description=truncate(message or "", 10_000),
        labels=labels,
        annotations={"message": message} if message else {},
        starts_at=None,
        host_hints=host_hints(host),
        source_url=_text(document, "url"),
        raw=document,
    )


def _test_notification(document: dict[str, Any]) -> NormalizedAlert:
    token = _text(document, "token")
    if token is None:
        raise PayloadError("'token' is required in a test notification")
    message = _text(document, "message") or ""
    return NormalizedAlert(
        source=SOURCE,
        fingerprint=fingerprint(SOURCE, "test", token),
        status=Status.FIRING,
        severity=Severity.INFO,
        title=truncate(f"Netdata Cloud test notification, verification token {token}", 500),
        description=truncate(
            f"{message}\n\nPaste this token into the Verification field of the Netdata "
            f"webhook integration: {token}".strip(),
            10_000,
        ),
        labels={"alert": "test_notification", "netdata_token": truncate(token, 200)},
        annotations={"message": message} if message else {},
        raw=document,
    )


def _is_reachability(document: Mapping[str, Any]) -> bool:
    return isinstance(document.get("status"), Mapping) or (
        "host" in document and "alert" not in document and "alarm" not in document
    )


class NetdataAdapter:
    source: ClassVar[str] = SOURCE
    title: ClassVar[str] = "Netdata Cloud"

    def parse(self, request: WebhookRequest, config: IntegrationConfig) -> Parsed:
        if config.signing_secret:
            check_authorization(request, config.signing_secret)
        try:
            document = request.json_object()
            if "token" in document and "alert" not in document and "alarm" not in document:
                alert = _test_notification(document)
            elif _is_reachability(document):
                alert = _reachability(document)
            else:
                alert = _alert(document)
        except RecursionError as exc:
            raise PayloadError("the payload is nested too deeply") from exc
        return Parsed(alerts=(alert,))

    def sample(self) -> bytes:
        return json.dumps(
            {
                "message": "VixPro test alert: system CPU above 90% on web-1",
                "alert": "10min_cpu_usage",
                "info": "Average CPU utilization over the last 10 minutes (sent from VixPro's "
                "Integrations page to check the setup).",
                "chart": "system.cpu",
                "context": "system.cpu",
                "space": "Production",
                "rooms": {"All nodes": "https://app.netdata.cloud/spaces/production/rooms/all"},
                "family": "cpu",
                "class": "Utilization",
                "severity": "warning",
                "date": datetime.now(UTC).isoformat(),
                "duration": "1 minute",
                "additional_active_critical_alerts": 0,
                "additional_active_warning_alerts": 0,
                "alert_url": "https://app.netdata.cloud/spaces/production/alerts/test",
                "host": "web-1.example",
                "vixpro_test": True,
            }
        ).encode()


ADAPTER = NetdataAdapter()
