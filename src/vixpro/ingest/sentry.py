"""Sentry: integration-platform webhooks (internal or public integrations), plus the legacy plugin.

An integration-platform request names its resource in the ``Sentry-Hook-Resource`` header and
carries ``action``, ``data``, ``installation`` and ``actor`` in the body. Resources that become
alerts:

- ``issue`` (created / unresolved / assigned / resolved / archived or ignored): one alert per
  Sentry issue, fingerprinted by the issue id;
- ``event_alert`` (an issue alert rule fired, action ``triggered``) and ``error`` (an error
  event, action ``created``): the event's issue, fingerprinted by the same issue id, so an issue
  alert and a later ``issue.resolved`` webhook are one VixPro alert;
- ``metric_alert`` (critical / warning / resolved): one alert per metric alert rule.

Other resources (``installation``, ``comment``, …) are accepted without alerts. Without the header
(a proxy dropped it, or a stored body is replayed) the resource is inferred from ``data``.

The legacy "WebHooks" plugin posts ``project``, ``culprit``, ``message``, ``url``, ``level``,
``id`` (the issue id) and ``event`` with no header and no signature.

Sentry signs the exact body with the integration's client secret: ``Sentry-Hook-Signature`` is
the hex HMAC-SHA256. ``Sentry-Hook-Timestamp`` is not covered by the signature, so it is not
checked (it would add no replay protection).
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
    truncate,
)
from vixpro.ingest.base import (
    IntegrationConfig,
    Parsed,
    PayloadError,
    WebhookRequest,
    check_hmac,
    optional,
    require,
)
from vixpro.ingest.base import (
    parse_time as base_parse_time,
)

SOURCE = "sentry"
SIGNATURE_HEADER = "Sentry-Hook-Signature"
RESOURCE_HEADER = "Sentry-Hook-Resource"

# Sentry's event/issue levels → ours. "error" is Sentry's everyday level for an exception, so
# it is a warning; only "fatal" (a crash) is critical.
LEVELS: dict[str, Severity] = {
    "fatal": Severity.CRITICAL,
    "error": Severity.WARNING,
    "warning": Severity.WARNING,
    "info": Severity.INFO,
    "debug": Severity.INFO,
    "sample": Severity.INFO,
}

# issue.<action> → status. "assigned" (and anything new) follows the issue's own status field.
ISSUE_ACTIONS: dict[str, Status] = {
    "created": Status.FIRING,
    "unresolved": Status.FIRING,
    "resolved": Status.RESOLVED,
    "archived": Status.RESOLVED,
    "ignored": Status.RESOLVED,
}
ISSUE_STATUSES: dict[str, Status] = {
    "unresolved": Status.FIRING,
    "reprocessing": Status.FIRING,
    "resolved": Status.RESOLVED,
    "ignored": Status.RESOLVED,
    "archived": Status.RESOLVED,
    "muted": Status.RESOLVED,
}

METRIC_ACTIONS: dict[str, tuple[Status, Severity]] = {
    "critical": (Status.FIRING, Severity.CRITICAL),
    "warning": (Status.FIRING, Severity.WARNING),
    "resolved": (Status.RESOLVED, Severity.WARNING),
}

ALERT_RESOURCES = ("issue", "event_alert", "metric_alert", "error")
HOST_TAGS = ("server_name", "host", "hostname", "host.name", "node", "instance")
_QUERY_HOST = re.compile(r'\b(?:server_name|host|hostname):"?([A-Za-z0-9_.:\[\]-]+)"?')


# ---- small readers ----------------------------------------------------------------------


def _text(value: object) -> str | None:
    """A non-blank string, or None (numbers and other types are not text here)."""
    return value if isinstance(value, str) and value.strip() else None


def _obj(mapping: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    """``mapping[key]`` as an object; absent/null gives {}, another type a PayloadError."""
    value = optional(mapping, key, dict, where)
    return value if isinstance(value, dict) else {}


def _ident(mapping: Mapping[str, Any], key: str, where: str) -> str | None:
    """An id Sentry sends as a string or a number; None when absent."""
    value = mapping.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        name = f"{where}.{key}" if where else key
        raise PayloadError(f"'{name}' must be a string or an integer, got {type(value).__name__}")
    return truncate(value, 200)


def _level(value: object) -> Severity:
    word = _text(value)
    return LEVELS.get(word.strip().lower(), Severity.WARNING) if word else Severity.WARNING


def _tags(value: object) -> dict[str, str]:
    """Event tags: ``[[key, value], …]``, ``[{"key":…, "value":…}, …]`` or an object."""
    pairs: list[tuple[object, object]] = []
    if isinstance(value, dict):
        pairs = list(value.items())
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, list | tuple) and len(item) == 2:
                pairs.append((item[0], item[1]))
            elif isinstance(item, dict):
                pairs.append((item.get("key"), item.get("value")))
    return {
        key: truncate(item, 1000)
        for key, item in pairs
        if isinstance(key, str) and isinstance(item, str | int | float) and key
    }


def _lines(*pairs: tuple[str, object]) -> str:
    """``Label: value`` lines for the values that are present."""
    rows = []
    for label, value in pairs:
        if value is None or value == "":
            continue
        rows.append(f"{label}: {value}" if label else str(value))
    return truncate("\n".join(rows), 10_000)


def _labels(**values: object) -> dict[str, str]:
    return {
        key: truncate(value, 500)
        for key, value in values.items()
        if isinstance(value, str | int) and not isinstance(value, bool) and value != ""
    }


def parse_time(value: object, where: str) -> datetime | None:
    """``base.parse_time``, with a huge number also reported as a PayloadError."""
    try:
        return base_parse_time(value, where)
    except (OverflowError, ValueError) as exc:
        if isinstance(exc, PayloadError):
            raise
        raise PayloadError(f"'{where}' is not a valid time") from exc


def _first_time(mapping: Mapping[str, Any], keys: tuple[str, ...], where: str) -> datetime | None:
    for key in keys:
        if mapping.get(key) is not None:
            return parse_time(mapping[key], f"{where}.{key}")
    return None


# ---- resource parsers -------------------------------------------------------------------


def _issue_alert(document: dict[str, Any], received_at: datetime) -> NormalizedAlert:
    data = require(document, "data", dict)
    issue = require(data, "issue", dict, "data")
    where = "data.issue"
    issue_id = _ident(issue, "id", where)
    if issue_id is None:
        raise PayloadError(f"'{where}.id' is required")
    action = (_text(document.get("action")) or "").lower()
    issue_status = (_text(issue.get("status")) or "").lower()
    status = ISSUE_ACTIONS.get(action) or ISSUE_STATUSES.get(issue_status)
    if status is None:
        raise PayloadError(
            f"'action' {action!r} is not an issue action VixPro knows "
            "(created, unresolved, assigned, resolved, archived, ignored) "
            "and 'data.issue.status' does not say whether the issue is resolved"
        )
    project = _obj(issue, "project", where)
    metadata = _obj(issue, "metadata", where)
    assigned = issue.get("assignedTo")
    title = (
        _text(issue.get("title"))
        or _text(metadata.get("title"))
        or _text(issue.get("culprit"))
        or f"Sentry issue {issue_id}"
    )
    return NormalizedAlert(
        source=SOURCE,
        fingerprint=fingerprint(SOURCE, "issue", issue_id),
        status=status,
        severity=_level(issue.get("level")),
        title=truncate(title, 500),
        description=_lines(
            ("", _metadata_line(metadata, title)),
            ("Culprit", _text(issue.get("culprit"))),
            ("Project", _text(project.get("slug")) or _text(project.get("name"))),
            ("Events", _text(issue.get("count")) or _number(issue.get("count"))),
            ("Users affected", _number(issue.get("userCount"))),
            ("Assigned to", _assignee(assigned)),
        ),
        labels=_labels(
            resource="issue",
            action=action,
            issue_id=issue_id,
            short_id=issue.get("shortId"),
            project=project.get("slug"),
            level=issue.get("level"),
            platform=issue.get("platform"),
            issue_status=issue.get("status"),
            substatus=issue.get("substatus"),
        ),
        starts_at=parse_time(issue.get("firstSeen"), f"{where}.firstSeen"),
        ends_at=received_at if status is Status.RESOLVED else None,
        source_url=_text(issue.get("web_url")) or _text(issue.get("permalink")),
        acknowledged=status is Status.FIRING and bool(assigned),
        raw=document,
    )


def _number(value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _assignee(value: object) -> str | None:
    if isinstance(value, dict):
        return _text(value.get("name")) or _text(value.get("email"))
    return _text(value)


def _metadata_line(metadata: Mapping[str, Any], title: str) -> str | None:
    kind, value = _text(metadata.get("type")), _text(metadata.get("value"))
    line = f"{kind}: {value}" if kind and value else value
    return line if line and line != title else None


def _event_alert(
    document: dict[str, Any], event: dict[str, Any], where: str, *, resource: str, rule: object
) -> NormalizedAlert:
    """An event-shaped alert: ``event_alert``, ``error`` and the legacy plugin share this."""
    tags = _tags(event.get("tags"))
    metadata = _obj(event, "metadata", where)
    request = _obj(event, "request", where) or _obj(event, "sentry.interfaces.Http", where)
    env = request["env"] if isinstance(request.get("env"), dict) else {}
    issue_id = _ident(event, "issue_id", where) or _ident(event, "group_id", where)
    if issue_id is not None:
        identity: tuple[object, ...] = ("issue", issue_id)
    else:
        grouping = event.get("hashes") or event.get("fingerprint")
        identity = ("event", event.get("project"), grouping if grouping else event.get("title"))
    title = (
        _text(event.get("title"))
        or _metadata_line(metadata, "")
        or _text(metadata.get("title"))
        or _text(event.get("message"))
        or _text(event.get("culprit"))
        or "Sentry event"
    )
    level = event.get("level") or tags.get("level")
    environment = _text(event.get("environment")) or tags.get("environment")
    return NormalizedAlert(
        source=SOURCE,
        fingerprint=fingerprint(SOURCE, *identity),
        status=Status.FIRING,
        severity=_level(level),
        title=truncate(title, 500),
        description=_lines(
            ("Alert rule", _text(rule)),
            ("", _metadata_line(metadata, title)),
            ("Culprit", _text(event.get("culprit"))),
            ("Environment", environment),
            ("Release", _text(event.get("release"))),
            ("Server", _text(event.get("server_name")) or tags.get("server_name")),
            ("Request", _text(request.get("url"))),
        ),
        labels=_labels(
            resource=resource,
            action=document.get("action") if resource != "legacy" else None,
            issue_id=issue_id,
            event_id=event.get("event_id"),
            project=event.get("project"),
            level=level,
            platform=event.get("platform"),
            environment=environment,
            alert_rule=rule,
            vixpro_test=tags.get("vixpro_test"),
        ),
        annotations=tags,
        starts_at=_first_time(event, ("datetime", "timestamp", "received"), where),
        host_hints=host_hints(
            event.get("server_name"),
            *(tags.get(name) for name in HOST_TAGS),
            env.get("SERVER_NAME"),
            request.get("url"),
        ),
        source_url=_text(event.get("web_url")),
        raw=document,
    )


def _metric_alert(document: dict[str, Any], received_at: datetime) -> NormalizedAlert:
    data = require(document, "data", dict)
    incident = require(data, "metric_alert", dict, "data")
    where = "data.metric_alert"
    rule = _obj(incident, "alert_rule", where)
    action = (_text(document.get("action")) or "").lower()
    if action not in METRIC_ACTIONS:
        raise PayloadError(
            f"'action' must be 'critical', 'warning' or 'resolved' for a metric alert, "
            f"got {action!r}"
        )
    status, severity = METRIC_ACTIONS[action]
    rule_id = _ident(rule, "id", f"{where}.alert_rule")
    if rule_id is None:
        rule_id = _ident(incident, "id", where)
    if rule_id is None:
        raise PayloadError(f"'{where}.alert_rule.id' is required")
    organization = _ident(rule, "organization_id", f"{where}.alert_rule") or _ident(
        incident, "organization_id", where
    )
    name = _text(rule.get("name")) or _text(data.get("description_title"))
    query = _text(rule.get("query")) or ""
    listed = rule.get("projects")
    projects = [p for p in listed if isinstance(p, str)] if isinstance(listed, list) else []
    return NormalizedAlert(
        source=SOURCE,
        fingerprint=fingerprint(SOURCE, "metric_alert", organization, rule_id),
        status=status,
        severity=severity,
        title=truncate(name or f"Sentry metric alert {rule_id}", 500),
        description=_lines(
            ("", _text(data.get("description_title"))),
            ("", _text(data.get("description_text"))),
        ),
        labels=_labels(
            resource="metric_alert",
            action=action,
            alert_rule_id=rule_id,
            alert_rule=rule.get("name"),
            incident=incident.get("identifier"),
            aggregate=rule.get("aggregate"),
            query=query,
            dataset=rule.get("dataset"),
            environment=rule.get("environment"),
            projects=",".join(projects),
        ),
        starts_at=_first_time(incident, ("date_started", "date_detected"), where),
        ends_at=(parse_time(incident.get("date_closed"), f"{where}.date_closed") or received_at)
        if status is Status.RESOLVED
        else None,
        host_hints=host_hints(_QUERY_HOST.findall(query)),
        source_url=_text(data.get("web_url")),
        raw=document,
    )


def _legacy_alert(document: dict[str, Any]) -> NormalizedAlert:
    """The legacy "WebHooks" plugin: the issue's fields at the top, the event under ``event``."""
    event = dict(_obj(document, "event", ""))
    issue_id = _ident(document, "id", "")
    if issue_id is None:
        raise PayloadError("'id' (the Sentry issue id) is required")
    # The top-level fields describe the issue; they win over the event's.
    metadata = _obj(event, "metadata", "event")
    event.update(
        issue_id=issue_id,
        project=_text(document.get("project_slug")) or _text(document.get("project")),
        level=document.get("level") or event.get("level"),
        culprit=document.get("culprit") or event.get("culprit"),
        title=_text(document.get("message")) or _text(metadata.get("title")) or event.get("title"),
        web_url=document.get("url"),
    )
    rules = document.get("triggering_rules")
    names = [r for r in rules if isinstance(r, str)] if isinstance(rules, list) else []
    rule = ", ".join(names) or None
    return _event_alert(document, event, "event", resource="legacy", rule=rule)


def _infer_resource(document: dict[str, Any]) -> str:
    data = document.get("data")
    if isinstance(data, dict):
        for key in ("issue", "metric_alert", "error", "installation", "comment"):
            if isinstance(data.get(key), dict):
                return key
        if isinstance(data.get("event"), dict):
            return "event_alert"
        raise PayloadError(
            f"the {RESOURCE_HEADER} header is missing and 'data' holds none of "
            "'issue', 'event', 'metric_alert' or 'error'"
        )
    if "project" in document and "id" in document:
        return "legacy"
    raise PayloadError(
        f"'data' is required (a Sentry integration webhook), or 'project' and 'id' "
        f"(the legacy WebHooks plugin); the {RESOURCE_HEADER} header is missing"
    )


class SentryAdapter:
    source: ClassVar[str] = SOURCE
    title: ClassVar[str] = "Sentry"

    def parse(self, request: WebhookRequest, config: IntegrationConfig) -> Parsed:
        if config.signing_secret:
            check_hmac(
                config.signing_secret,
                request.body,
                request.header(SIGNATURE_HEADER),
                header=SIGNATURE_HEADER,
            )
        document = request.json_object()
        resource = (request.header(RESOURCE_HEADER) or "").strip().lower()
        if not resource:
            resource = _infer_resource(document)
        received_at = request.received_at
        if resource == "issue":
            return Parsed(alerts=(_issue_alert(document, received_at),))
        if resource == "metric_alert":
            return Parsed(alerts=(_metric_alert(document, received_at),))
        if resource in ("event_alert", "error"):
            data = require(document, "data", dict)
            key = "event" if resource == "event_alert" else "error"
            event = require(data, key, dict, "data")
            rule = data.get("triggered_rule") or _obj(data, "issue_alert", "data").get("title")
            return Parsed(
                alerts=(_event_alert(document, event, f"data.{key}", resource=resource, rule=rule),)
            )
        if resource == "legacy":
            return Parsed(alerts=(_legacy_alert(document),))
        # installation, comment, seer, …: nothing to alert on, but a valid delivery.
        return Parsed()

    def sample(self) -> bytes:
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        return json.dumps(
            {
                "action": "triggered",
                "actor": {"id": "sentry", "name": "Sentry", "type": "application"},
                "data": {
                    "event": {
                        "event_id": "00000000000000000000000000000000",
                        "issue_id": "0",
                        "project": 1,
                        "platform": "python",
                        "level": "error",
                        "title": "VixPro test alert: ConnectionError on web-1",
                        "culprit": "app.views.checkout in post",
                        "environment": "production",
                        "server_name": "web-1.example",
                        "datetime": now,
                        "metadata": {"type": "ConnectionError", "value": "test alert"},
                        "tags": [
                            ["server_name", "web-1.example"],
                            ["environment", "production"],
                            ["vixpro_test", "true"],
                        ],
                        "web_url": "https://sentry.example/organizations/example/issues/0/",
                    },
                    "triggered_rule": "VixPro test",
                    "issue_alert": {"title": "VixPro test", "settings": []},
                },
                "installation": {"uuid": "00000000-0000-0000-0000-000000000000"},
            }
        ).encode()


ADAPTER = SentryAdapter()
