"""Datadog: the Webhooks integration, with the payload template from the VixPro docs.

Datadog's webhook body is whatever template the user pastes, filled in with Datadog's
``$VARIABLES``. ``docs/integrations/datadog.md`` gives the template VixPro expects; this module
reads it and is tolerant of variations: keys in snake_case, camelCase or UPPER_CASE, extra keys,
numbers instead of strings, tags as a list or a comma-separated string, variables Datadog left
unresolved (``"$ALERT_PRIORITY"``) and Datadog's own default payload (``title``, ``body``, ``id``,
``date``...). "Encode as form" bodies are read too.

Datadog does not sign webhooks. It can send custom headers, so when the integration has a
signing secret, the request must carry it in ``X-VixPro-Secret`` (or the header named by
``options["secret_header"]``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl

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
    check_secret_header,
    parse_time,
)

MAX_FORM_FIELDS = 1000
MAX_LABEL_VALUE = 1000

# Our field → the keys it may arrive under, compared without case, "_", "-", "." or spaces.
FIELDS: dict[str, tuple[str, ...]] = {
    "alert_id": ("alertid", "monitorid"),
    "alert_cycle_key": ("alertcyclekey", "cyclekey"),
    "alert_transition": ("alerttransition", "transition"),
    "alert_type": ("alerttype",),
    "alert_priority": ("alertpriority", "monitorpriority"),
    "alert_title": ("alerttitle",),
    "alert_status": ("alertstatus",),
    "alert_scope": ("alertscope", "scope"),
    "alert_metric": ("alertmetric", "metric"),
    "alert_query": ("alertquery", "query"),
    "event_id": ("eventid", "id"),
    "event_title": ("eventtitle", "title"),
    "event_msg": ("eventmsg", "textonlymsg", "body", "message", "msg"),
    "event_type": ("eventtype",),
    "hostname": ("hostname", "host"),
    "link": ("link", "eventurl", "eventlink", "url"),
    "snapshot": ("snapshot",),
    "tags": ("tags", "eventtags"),
    "date": ("date", "dateposix", "timestamp"),
    "last_updated": ("lastupdated", "lastupdatedposix"),
    "org_id": ("orgid",),
    "org_name": ("orgname",),
}
# An unresolved Datadog variable, e.g. "$ALERT_PRIORITY" or "$TAGS[service]".
UNRESOLVED = re.compile(r"^\$[A-Z][A-Z0-9_]*(\[[^\]]*\])?$")
# Leading "[P1]", "[Triggered]", "[Re-Warn on {host:a}]" groups in Datadog titles.
TITLE_PREFIX = re.compile(
    r"^\s*\[(?:P[1-5]|(?:Re-)?(?:Triggered|Recovered|Warn|No Data|Renotify|Alert)"
    r"(?:\s+on\s+\{?(?P<scope>[^\]}]*)\}?)?)\]\s*",
    re.IGNORECASE,
)

RESOLVED_WORDS = frozenset({"recovered", "resolved", "ok", "success"})
PRIORITY_SEVERITY = {
    "p1": Severity.CRITICAL,
    "p2": Severity.WARNING,
    "p3": Severity.WARNING,
    "p4": Severity.INFO,
    "p5": Severity.INFO,
}
STATE_SEVERITY = {
    "triggered": Severity.CRITICAL,
    "error": Severity.CRITICAL,
    "alert": Severity.CRITICAL,
    "warn": Severity.WARNING,
    "warning": Severity.WARNING,
    "no data": Severity.WARNING,
    "info": Severity.INFO,
    "success": Severity.INFO,
    "recovered": Severity.INFO,
}


def _squash(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


def _clean(value: object, name: str) -> str | None:
    """A scalar field as text; None for absent, empty or unresolved values."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return str(value)
    if not isinstance(value, str):
        raise PayloadError(f"'{name}' must be a string, got {type(value).__name__}")
    text = value.strip()
    if not text or UNRESOLVED.match(text):
        return None
    return text


class Fields:
    """The payload's values under our names, whatever keys the template used."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        squashed: dict[str, tuple[str, Any]] = {}
        org = document.get("org")
        if isinstance(org, Mapping):
            for key, value in org.items():
                squashed.setdefault(_squash(f"org{key}"), (f"org.{key}", value))
        for key, value in document.items():
            squashed[_squash(str(key))] = (str(key), value)
        self._values: dict[str, tuple[str, Any]] = {}
        for name, aliases in FIELDS.items():
            for alias in aliases:
                if alias in squashed:
                    self._values[name] = squashed[alias]
                    break

    def key(self, name: str) -> str:
        """The key the payload used for our field (for error messages)."""
        return self._values[name][0] if name in self._values else name

    def text(self, name: str) -> str | None:
        if name not in self._values:
            return None
        key, value = self._values[name]
        return _clean(value, key)

    def tags(self) -> list[str]:
        if "tags" not in self._values:
            return []
        key, value = self._values["tags"]
        if isinstance(value, list):
            return [text for item in value if (text := _clean(item, f"{key}[]"))]
        text = _clean(value, key)
        return [part.strip() for part in text.split(",") if part.strip()] if text else []


def _tag_map(tags: list[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for tag in tags:
        key, _, value = tag.partition(":")
        if key.strip():
            labels[key.strip()] = truncate(value.strip(), MAX_LABEL_VALUE)
    return labels


def _scope_parts(scope: str | None) -> list[str]:
    if not scope:
        return []
    return sorted({part.strip() for part in scope.split(",") if part.strip()})


def _strip_title(title: str) -> tuple[str, str | None]:
    """A Datadog title without its "[P1] [Triggered on {host:a}]" prefixes, and that scope."""
    scope = None
    while match := TITLE_PREFIX.match(title):
        scope = scope or (match.group("scope") or None)
        title = title[match.end() :]
    return title.strip(), scope


def _status(fields: Fields, raw_title: str | None) -> Status:
    word = (fields.text("alert_transition") or fields.text("alert_type") or "").lower()
    if not word and raw_title:
        match = re.match(r"^\s*(?:\[P[1-5]\]\s*)?\[(?:re-)?(\w+)", raw_title, re.IGNORECASE)
        word = match.group(1).lower() if match else ""
    word = word.removeprefix("re-")
    return Status.RESOLVED if word in RESOLVED_WORDS else Status.FIRING


def _severity(fields: Fields) -> Severity:
    transition = (fields.text("alert_transition") or "").lower().removeprefix("re-")
    priority = (fields.text("alert_priority") or "").lower()
    alert_type = (fields.text("alert_type") or "").lower()
    if priority in PRIORITY_SEVERITY:
        severity = PRIORITY_SEVERITY[priority]
    else:
        severity = STATE_SEVERITY.get(transition) or STATE_SEVERITY.get(
            alert_type, Severity.WARNING
        )
    if transition == "warn" and severity is Severity.CRITICAL:
        return Severity.WARNING
    return severity


def _identity(fields: Fields, title: str, title_scope: str | None) -> tuple[object, ...]:
    scope = _scope_parts(fields.text("alert_scope") or title_scope)
    monitor = fields.text("alert_id")
    if monitor:
        return ("monitor", monitor, scope)
    cycle = fields.text("alert_cycle_key")
    if cycle:
        return ("cycle", cycle)
    if title:
        return ("title", title, scope)
    raise PayloadError(
        "'alert_id' is required (with 'alert_scope'); "
        "use the payload template from VixPro's Datadog integration page"
    )


def _message(fields: Fields) -> str:
    text = fields.text("event_msg") or ""
    lines = [line for line in text.splitlines() if line.strip() != "%%%"]
    body = "\n".join(lines).strip()
    status = fields.text("alert_status")
    if status and status not in body:
        body = f"{body}\n\n{status}" if body else status
    return truncate(body, 10_000)


def _labels(fields: Fields) -> dict[str, str]:
    labels = _tag_map(fields.tags())
    for name in ("alert_id", "alert_scope", "alert_metric", "alert_type", "alert_priority"):
        value = fields.text(name)
        if value:
            labels[name] = truncate(value, MAX_LABEL_VALUE)
    for name in ("event_type", "org_id", "org_name", "hostname"):
        value = fields.text(name)
        if value:
            labels[name] = truncate(value, MAX_LABEL_VALUE)
    return labels


def _annotations(fields: Fields) -> dict[str, str]:
    annotations: dict[str, str] = {}
    names = ("alert_status", "alert_query", "alert_cycle_key", "alert_transition", "event_id")
    for name in (*names, "snapshot", "last_updated"):
        value = fields.text(name)
        if value:
            annotations[name] = truncate(value, 10_000)
    return annotations


def _host_hints(fields: Fields, scope: str | None) -> tuple[str, ...]:
    hosts = [fields.text("hostname")]
    for tag in [*_scope_parts(scope), *fields.tags()]:
        key, _, value = tag.partition(":")
        if key.strip().lower() in ("host", "hostname") and value.strip():
            hosts.append(value.strip())
    return host_hints(*hosts)


def alert_from_fields(fields: Fields, raw: Mapping[str, Any]) -> NormalizedAlert:
    raw_title = fields.text("alert_title") or fields.text("event_title")
    title, title_scope = _strip_title(raw_title or "")
    scope = fields.text("alert_scope") or title_scope
    identity = _identity(fields, title, title_scope)
    status = _status(fields, raw_title)
    if not title:
        title = f"Datadog monitor {fields.text('alert_id') or fields.text('alert_cycle_key')}"
    if scope and scope not in title:
        title = f"{title} ({scope})"
    when = parse_time(fields.text("date"), fields.key("date"))
    return NormalizedAlert(
        source=DatadogAdapter.source,
        fingerprint=fingerprint(DatadogAdapter.source, *identity),
        status=status,
        severity=_severity(fields),
        title=truncate(title, 500),
        description=_message(fields),
        labels=_labels(fields),
        annotations=_annotations(fields),
        starts_at=when if status is Status.FIRING else None,
        ends_at=when if status is Status.RESOLVED else None,
        host_hints=_host_hints(fields, scope),
        source_url=fields.text("link"),
        raw=raw,
    )


def verify_secret(request: WebhookRequest, config: IntegrationConfig) -> None:
    """Datadog cannot sign; a custom header carries the integration's secret instead."""
    check_secret_header(request, config, "add it to the Datadog webhook's custom headers")


def _document(request: WebhookRequest) -> dict[str, Any]:
    content_type = (request.header("content-type") or "").lower()
    if "application/x-www-form-urlencoded" not in content_type:
        return request.json_object()
    try:
        text = request.body.decode()
    except UnicodeDecodeError as exc:
        raise PayloadError("the form-encoded body is not UTF-8 text") from exc
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError as exc:
        raise PayloadError(f"the form-encoded body could not be read: {exc}") from exc
    if not pairs:
        raise PayloadError("the form-encoded body is empty")
    return dict(pairs)


class DatadogAdapter:
    source: ClassVar[str] = "datadog"
    title: ClassVar[str] = "Datadog"

    def parse(self, request: WebhookRequest, config: IntegrationConfig) -> Parsed:
        verify_secret(request, config)
        try:
            document = _document(request)
            return Parsed(alerts=(alert_from_fields(Fields(document), document),))
        except PayloadError:
            raise
        except (ValueError, TypeError, KeyError, IndexError, RecursionError) as exc:
            # Odd input the checks above did not foresee still gets a reason, not a crash.
            raise PayloadError(f"the Datadog payload could not be read: {exc}") from exc

    def sample(self) -> bytes:
        now_ms = int(datetime.now(UTC).timestamp() * 1000)
        return json.dumps(
            {
                "alert_id": "1234567",
                "alert_cycle_key": "7316153985418800000",
                "alert_transition": "Triggered",
                "alert_type": "error",
                "alert_priority": "P2",
                "alert_title": "[Triggered on {host:web-1}] VixPro test alert: CPU above 90%",
                "alert_status": "system.cpu.user over host:web-1 was > 90.0 on average",
                "alert_scope": "host:web-1",
                "alert_metric": "system.cpu.user",
                "alert_query": "avg(last_5m):avg:system.cpu.user{*} by {host} > 90",
                "event_id": "7316153985418811111",
                "event_title": "[P2] [Triggered on {host:web-1}] VixPro test alert: CPU above 90%",
                "event_msg": "Sent from the Integrations page to check the setup.",
                "event_type": "query_alert_monitor",
                "hostname": "web-1",
                "link": "https://app.datadoghq.com/event/event?id=7316153985418811111",
                "snapshot": "",
                "tags": "host:web-1, env:test, vixpro_test:true",
                "date": str(now_ms),
                "last_updated": str(now_ms),
                "org_id": "11023",
                "org_name": "VixPro",
            }
        ).encode()


ADAPTER = DatadogAdapter()
