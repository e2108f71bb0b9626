"""PagerDuty Events API v2: anything that can send events to PagerDuty can send them to VixPro.

One request is one event (PagerDuty documents no batch form; a JSON list is refused):
``routing_key``, ``event_action`` (trigger / acknowledge / resolve), ``dedup_key``, and for
triggers a ``payload`` with ``summary``, ``source`` and ``severity`` (plus optional
``timestamp``, ``component``, ``group``, ``class``, ``custom_details``), ``links``, ``images``,
``client`` and ``client_url``.

The Events API has no request signature; its routing key is the shared secret. When the
integration has a signing secret, VixPro requires ``routing_key`` to equal it.

PagerDuty answers ``202 {"status": "success", "message": "Event processed", "dedup_key": …}``
and senders keep that ``dedup_key`` to acknowledge or resolve later; :func:`accepted_response`
builds that body for the web layer, and :func:`error_response` PagerDuty's error body.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
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
    string_map,
    truncate,
)
from vixpro.ingest.base import (
    IntegrationConfig,
    Parsed,
    PayloadError,
    SignatureError,
    WebhookRequest,
    optional,
    require,
)
from vixpro.ingest.base import parse_time as base_parse_time

SOURCE = "pagerduty"
ACTIONS = ("trigger", "acknowledge", "resolve")
MAX_DEDUP_KEY = 255  # PagerDuty's limit

# PagerDuty's four severities → ours. PagerDuty itself treats critical and error as
# high-urgency and warning and info as low-urgency, so "error" pages: it is critical here.
SEVERITIES: dict[str, Severity] = {
    "critical": Severity.CRITICAL,
    "error": Severity.CRITICAL,
    "warning": Severity.WARNING,
    "info": Severity.INFO,
}
_HOSTNAME = re.compile(r"^[a-z0-9_](?:[a-z0-9_.-]{0,252})$")
HOST_DETAILS = ("host", "hostname", "host_name", "instance", "server", "node", "ip", "address")


def parse_time(value: object, where: str) -> datetime | None:
    """``base.parse_time``, with a huge number also reported as a PayloadError."""
    try:
        return base_parse_time(value, where)
    except (OverflowError, ValueError) as exc:
        if isinstance(exc, PayloadError):
            raise
        raise PayloadError(f"'{where}' is not a valid time") from exc


def derived_dedup_key(summary: str, source: str) -> str:
    """The dedup key VixPro gives a trigger that has none: stable for one summary and source.

    PagerDuty would make up a random key and return it; a stable one means a sender that
    repeats the same trigger without a key updates one alert instead of opening a new one each
    time, and can still resolve it with the key VixPro returned.
    """
    digest = hashlib.sha256(f"{source}\n{summary}".encode()).hexdigest()
    return f"vixpro-{digest[:32]}"


def accepted_response(parsed: Parsed) -> dict[str, str]:
    """The body PagerDuty answers a good event with (HTTP 202)."""
    dedup_key = parsed.alerts[0].labels.get("dedup_key", "") if parsed.alerts else ""
    return {"status": "success", "message": "Event processed", "dedup_key": dedup_key}


def error_response(error: PayloadError) -> dict[str, Any]:
    """The body PagerDuty answers a bad event with (PagerDuty uses HTTP 400)."""
    return {"status": "invalid event", "message": "Event object is invalid", "errors": [str(error)]}


# ---- readers ----------------------------------------------------------------------------


def _text(mapping: Mapping[str, Any], key: str, where: str = "") -> str | None:
    value = optional(mapping, key, str, where)
    return value.strip() or None if isinstance(value, str) else None


def _required_text(mapping: Mapping[str, Any], key: str, where: str, why: str = "") -> str:
    value = _text(mapping, key, where)
    if value is None:
        raise PayloadError(f"'{where}.{key}' is required{why}")
    return value


def _dedup_key(document: Mapping[str, Any]) -> str | None:
    value = document.get("dedup_key")
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise PayloadError(f"'dedup_key' must be a string, got {type(value).__name__}")
    key = str(value)
    if len(key) > MAX_DEDUP_KEY:
        raise PayloadError(f"'dedup_key' must be at most {MAX_DEDUP_KEY} characters")
    return key


def _severity(payload: Mapping[str, Any], required: bool) -> tuple[Severity, str | None]:
    word = _text(payload, "severity", "payload")
    if word is None:
        if required:
            raise PayloadError("'payload.severity' is required")
        return Severity.WARNING, None
    severity = SEVERITIES.get(word.lower())
    if severity is None:
        raise PayloadError(
            f"'payload.severity' must be one of critical, error, warning, info; got {word!r}"
        )
    return severity, word.lower()


def _links(document: Mapping[str, Any], key: str, url_field: str) -> list[dict[str, Any]]:
    items = optional(document, key, list) or []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise PayloadError(f"'{key}[{index}]' must be an object")
        if not isinstance(item.get(url_field), str):
            raise PayloadError(f"'{key}[{index}].{url_field}' must be a string")
    return items


def _details_text(details: object) -> str:
    if details is None:
        return ""
    if isinstance(details, str):
        return details
    if isinstance(details, dict):
        return "\n".join(
            f"{key}: {value if isinstance(value, str) else json.dumps(value, default=str)}"
            for key, value in details.items()
        )
    return json.dumps(details, default=str)


def _detail_hosts(details: object) -> list[object]:
    if not isinstance(details, dict):
        return []
    lowered = {str(key).lower(): value for key, value in details.items()}
    return [lowered.get(name) for name in HOST_DETAILS]


def _hostlike(hints: tuple[str, ...]) -> tuple[str, ...]:
    """Only hints that look like a hostname or an IP address.

    ``payload.source`` is free text ("monitoringtool:cloudvendor:dc-01:cluster/api"); such
    values would never match a server and are left out.
    """
    return tuple(hint for hint in hints if _HOSTNAME.match(hint) or _is_ip(hint))


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _masked(document: dict[str, Any]) -> dict[str, Any]:
    """The event as stored: the routing key (a credential) cut to its last four characters."""
    key = document.get("routing_key")
    if not isinstance(key, str):
        return document
    return {**document, "routing_key": "…" + key[-4:] if len(key) > 8 else "…"}


# ---- the adapter ------------------------------------------------------------------------


def _event(document: dict[str, Any], received_at: datetime) -> NormalizedAlert:
    routing_key = require(document, "routing_key", str)
    action = require(document, "event_action", str).strip().lower()
    if action not in ACTIONS:
        raise PayloadError(
            f"'event_action' must be 'trigger', 'acknowledge' or 'resolve', got {action!r}"
        )
    trigger = action == "trigger"
    payload = require(document, "payload", dict) if trigger else _payload_or_empty(document)
    why = " for trigger events"
    summary = (
        _required_text(payload, "summary", "payload", why)
        if trigger
        else _text(payload, "summary", "payload")
    )
    source = (
        _required_text(payload, "source", "payload", why)
        if trigger
        else _text(payload, "source", "payload")
    )
    severity, severity_word = _severity(payload, required=trigger)
    dedup_key = _dedup_key(document)
    if dedup_key is None:
        if not trigger:
            raise PayloadError(f"'dedup_key' is required for {action} events")
        dedup_key = derived_dedup_key(summary or "", source or "")
    details = payload.get("custom_details")
    links = _links(document, "links", "href")
    _links(document, "images", "src")
    title = summary or f"{'Acknowledged' if action == 'acknowledge' else 'Resolved'}: {dedup_key}"
    status = Status.RESOLVED if action == "resolve" else Status.FIRING
    context = [
        ("Source", source),
        ("Component", _text(payload, "component", "payload")),
        ("Group", _text(payload, "group", "payload")),
        ("Class", _text(payload, "class", "payload")),
    ]
    description = "\n".join(
        [f"{label}: {value}" for label, value in context if value]
        + ([_details_text(details)] if details not in (None, "", {}) else [])
        + [f"{link.get('text') or 'Link'}: {link['href']}" for link in links]
    )
    return NormalizedAlert(
        source=SOURCE,
        fingerprint=fingerprint(SOURCE, routing_key, dedup_key),
        status=status,
        severity=severity,
        title=truncate(title, 500),
        description=truncate(description, 10_000),
        labels={
            key: truncate(value, 500)
            for key, value in {
                "dedup_key": dedup_key,
                "event_action": action,
                "severity": severity_word,
                "source": source,
                "component": _text(payload, "component", "payload"),
                "group": _text(payload, "group", "payload"),
                "class": _text(payload, "class", "payload"),
                "client": _text(document, "client"),
            }.items()
            if value
        },
        annotations=string_map(details)
        if isinstance(details, dict)
        else ({"custom_details": _details_text(details)} if details not in (None, "") else {}),
        starts_at=parse_time(payload.get("timestamp"), "payload.timestamp"),
        ends_at=received_at if status is Status.RESOLVED else None,
        host_hints=_hostlike(host_hints(source, *_detail_hosts(details))),
        source_url=_text(document, "client_url") or (links[0]["href"] if links else None),
        acknowledged=action == "acknowledge",
        raw=_masked(document),
    )


def _payload_or_empty(document: Mapping[str, Any]) -> dict[str, Any]:
    payload = optional(document, "payload", dict)
    return payload if isinstance(payload, dict) else {}


class PagerDutyAdapter:
    source: ClassVar[str] = SOURCE
    title: ClassVar[str] = "PagerDuty Events API v2"

    def parse(self, request: WebhookRequest, config: IntegrationConfig) -> Parsed:
        document = request.json()
        if isinstance(document, list):
            raise PayloadError(
                "expected one event object; the PagerDuty Events API takes one event per "
                "request, not a list"
            )
        if not isinstance(document, dict):
            raise PayloadError(f"expected a JSON object, got {type(document).__name__}")
        if config.signing_secret:
            _check_routing_key(config.signing_secret, document.get("routing_key"))
        return Parsed(alerts=(_event(document, request.received_at),))

    def sample(self) -> bytes:
        return json.dumps(
            {
                "routing_key": "vixpro-test-routing-key-00000000",
                "event_action": "trigger",
                "dedup_key": "vixpro-test-web-1-cpu",
                "payload": {
                    "summary": "VixPro test alert: CPU above 90% on web-1",
                    "source": "web-1.example",
                    "severity": "warning",
                    "timestamp": datetime.now(UTC).isoformat(),
                    "component": "cpu",
                    "group": "web",
                    "class": "high cpu",
                    "custom_details": {"vixpro_test": "true", "cpu_percent": 93.5},
                },
                "links": [{"href": "https://monitoring.example/hosts/web-1", "text": "Host"}],
                "client": "VixPro",
                "client_url": "https://monitoring.example/",
            }
        ).encode()


def _check_routing_key(secret: str, given: object) -> None:
    if not isinstance(given, str) or not given:
        raise SignatureError(
            "'routing_key' is missing; this integration requires its signing secret there"
        )
    if not hmac.compare_digest(secret.encode(), given.encode()):
        raise SignatureError("'routing_key' does not match this integration's signing secret")


ADAPTER = PagerDutyAdapter()
