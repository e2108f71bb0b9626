"""Zabbix: a webhook media type whose small script POSTs its parameters to VixPro as JSON.

``docs/integrations/zabbix.md`` gives the parameters (Zabbix macros such as ``{EVENT.ID}``,
``{EVENT.VALUE}``, ``{EVENT.NSEVERITY}``, ``{HOST.NAME}``) and the script. Each request is one
problem, recovery or problem-update notification. Macros Zabbix could not resolve arrive
literally (``"{EVENT.RECOVERY.ID}"`` in a problem notification, ``"*UNKNOWN*"``) and count as
absent. Keys are compared without case, ``_``, ``-`` or ``.``, so ``eventId`` and ``EVENT.ID``
work too.

Zabbix does not sign requests; when the integration has a signing secret, the script sends it in
``X-VixPro-Secret`` (or the header named by ``options["secret_header"]``).
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
    check_secret_header,
    parse_time,
)

MAX_LABEL_VALUE = 1000
MAX_TAGS = 200

# Our field → the parameter names it may arrive under (squashed: lower case, letters/digits).
FIELDS: dict[str, tuple[str, ...]] = {
    "event_id": ("eventid", "problemid"),
    "event_value": ("eventvalue", "value"),
    "event_status": ("eventstatus", "status"),
    "event_update_status": ("eventupdatestatus", "updatestatus"),
    "event_update_action": ("eventupdateaction", "updateaction"),
    "event_ack_status": ("eventackstatus", "ackstatus", "acknowledged"),
    "event_name": ("eventname", "problemname", "triggername", "name"),
    "event_severity": ("eventseverity", "severity", "triggerseverity"),
    "event_nseverity": ("eventnseverity", "nseverity", "triggernseverity"),
    "event_opdata": ("eventopdata", "opdata", "operationaldata"),
    "event_tags": ("eventtags", "eventtagsjson", "tags"),
    "event_timestamp": ("eventtimestamp", "timestamp"),
    "event_date": ("eventdate",),
    "event_time": ("eventtime",),
    "event_recovery_id": ("eventrecoveryid", "recoveryid"),
    "event_recovery_timestamp": ("eventrecoverytimestamp", "recoverytimestamp"),
    "event_recovery_date": ("eventrecoverydate",),
    "event_recovery_time": ("eventrecoverytime",),
    "trigger_id": ("triggerid",),
    "trigger_description": ("triggerdescription", "description"),
    "trigger_url": ("triggerurl",),
    "host_name": ("hostname", "host"),
    "host_host": ("hosthost",),
    "host_ip": ("hostip", "ip"),
    "host_dns": ("hostdns", "dns"),
    "zabbix_url": ("zabbixurl",),
    "event_url": ("eventurl", "problemurl"),
    "alert_subject": ("alertsubject", "subject"),
    "alert_message": ("alertmessage", "message"),
}
# "{EVENT.RECOVERY.ID}", "{$ZABBIX.URL}", "{EVENT.TAGS.service}", "{HOST.NAME1}"...
UNRESOLVED = re.compile(r"^\{[$#]?[A-Z][A-Z0-9_.]*(?:\.[^{}]*)?\}$")
UNKNOWN = "*UNKNOWN*"

# Zabbix's fixed scale: {EVENT.NSEVERITY} 0-5 and its default names.
NSEVERITY = {
    "0": Severity.INFO,  # Not classified
    "1": Severity.INFO,  # Information
    "2": Severity.WARNING,  # Warning
    "3": Severity.WARNING,  # Average
    "4": Severity.CRITICAL,  # High
    "5": Severity.CRITICAL,  # Disaster
}
SEVERITY_NAMES = {
    "not classified": Severity.INFO,
    "information": Severity.INFO,
    "warning": Severity.WARNING,
    "average": Severity.WARNING,
    "high": Severity.CRITICAL,
    "disaster": Severity.CRITICAL,
}
RESOLVED_STATUS = frozenset({"resolved", "ok", "recovered", "recovery"})
FIRING_STATUS = frozenset({"problem", "firing"})
YES = frozenset({"yes", "1", "true"})


def _squash(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


def _clean(value: object, name: str) -> str | None:
    """A parameter as text; None for absent, empty or unresolved macros."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return str(value)
    if not isinstance(value, str):
        raise PayloadError(f"'{name}' must be a string, got {type(value).__name__}")
    text = value.strip()
    if not text or text == UNKNOWN or UNRESOLVED.match(text):
        return None
    return text


def is_unresolved(value: object) -> bool:
    return isinstance(value, str) and bool(UNRESOLVED.match(value.strip()))


class Params:
    """The script's parameters under our names, whatever spelling the media type used."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        squashed = {_squash(str(key)): (str(key), value) for key, value in document.items()}
        self._values: dict[str, tuple[str, Any]] = {}
        for name, aliases in FIELDS.items():
            for alias in aliases:
                if alias in squashed:
                    self._values[name] = squashed[alias]
                    break

    def key(self, name: str) -> str:
        return self._values[name][0] if name in self._values else name

    def raw(self, name: str) -> Any:
        return self._values[name][1] if name in self._values else None

    def text(self, name: str) -> str | None:
        return _clean(self.raw(name), self.key(name)) if name in self._values else None


def _tags(params: Params) -> dict[str, str]:
    """{EVENT.TAGSJSON} (a JSON list of {"tag", "value"}) or {EVENT.TAGS} ("a:b, c:d")."""
    value = params.raw("event_tags")
    name = params.key("event_tags")
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise PayloadError(f"'{name}' is not a JSON list of tags: {exc.msg}") from exc
    labels: dict[str, str] = {}
    if isinstance(value, list):
        for item in value[:MAX_TAGS]:
            if not isinstance(item, dict) or not isinstance(item.get("tag"), str):
                raise PayloadError(f"'{name}' items must be objects with a 'tag' string")
            tag_value = item.get("value")
            labels[item["tag"]] = truncate(
                tag_value if isinstance(tag_value, str) else "", MAX_LABEL_VALUE
            )
        return labels
    text = params.text("event_tags")
    for part in (text or "").split(",")[:MAX_TAGS]:
        key, _, tag_value = part.partition(":")
        if key.strip():
            labels[key.strip()] = truncate(tag_value.strip(), MAX_LABEL_VALUE)
    return labels


def _status(params: Params) -> Status:
    value = params.text("event_value")
    if value is not None:
        if value not in ("0", "1"):
            raise PayloadError(
                f"'{params.key('event_value')}' must be 1 (problem) or 0 (recovery), "
                f"got {truncate(value, 40)!r}"
            )
        return Status.RESOLVED if value == "0" else Status.FIRING
    word = (params.text("event_status") or "").lower()
    if word in RESOLVED_STATUS:
        return Status.RESOLVED
    if word in FIRING_STATUS:
        return Status.FIRING
    if params.text("event_recovery_id"):
        return Status.RESOLVED
    raise PayloadError("'event_value' is required: set it to {EVENT.VALUE} in the media type")


def _severity(params: Params) -> Severity:
    number = params.text("event_nseverity")
    if number in NSEVERITY:
        return NSEVERITY[number]
    name = (params.text("event_severity") or "").lower()
    return SEVERITY_NAMES.get(name, Severity.WARNING)


def _time(params: Params, stamp: str, date: str, clock: str) -> datetime | None:
    """A Unix timestamp macro, else Zabbix's "yyyy.mm.dd" and "hh:mm:ss" (taken as UTC)."""
    value = params.text(stamp)
    if value is not None:
        return parse_time(value, params.key(stamp))
    day, hour = params.text(date), params.text(clock)
    if day is None:
        return None
    text = f"{day} {hour or '00:00:00'}"
    try:
        return datetime.strptime(text, "%Y.%m.%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError as exc:
        raise PayloadError(
            f"'{params.key(date)}' and '{params.key(clock)}' are not a Zabbix date and time "
            f"(yyyy.mm.dd hh:mm:ss): {truncate(text, 60)!r}"
        ) from exc


def _source_url(params: Params, event_id: str) -> str | None:
    explicit = params.text("event_url")
    if explicit:
        return explicit
    base = params.text("zabbix_url")
    trigger = params.text("trigger_id")
    if base and base.startswith(("http://", "https://")) and trigger:
        return f"{base.rstrip('/')}/tr_events.php?triggerid={trigger}&eventid={event_id}"
    return None


def _description(params: Params) -> str:
    parts = [params.text("trigger_description") or ""]
    opdata = params.text("event_opdata")
    if opdata:
        parts.append(f"Operational data: {opdata}")
    action = params.text("event_update_action")
    if action and params.text("event_update_status") == "1":
        parts.append(f"Update: {action}")
    parts.append(params.text("alert_message") or "")
    return truncate("\n\n".join(part for part in parts if part), 10_000)


def _labels(params: Params, event_id: str) -> dict[str, str]:
    labels = _tags(params)
    labels["event_id"] = truncate(event_id, MAX_LABEL_VALUE)
    for name, label in (
        ("trigger_id", "trigger_id"),
        ("host_host", "host"),
        ("host_name", "host_name"),
        ("event_severity", "severity"),
    ):
        value = params.text(name)
        if value:
            labels[label] = truncate(value, MAX_LABEL_VALUE)
    return labels


def _annotations(params: Params) -> dict[str, str]:
    annotations: dict[str, str] = {}
    for name, annotation in (
        ("event_opdata", "opdata"),
        ("trigger_url", "trigger_url"),
        ("event_recovery_id", "recovery_id"),
        ("event_update_action", "update_action"),
        ("alert_subject", "subject"),
    ):
        value = params.text(name)
        if value:
            annotations[annotation] = truncate(value, 10_000)
    return annotations


def media_type_test(document: Mapping[str, Any]) -> NormalizedAlert:
    """Zabbix's media type "Test" dialog sends the macros themselves, unresolved."""
    return NormalizedAlert(
        source=ZabbixAdapter.source,
        fingerprint=fingerprint(ZabbixAdapter.source, "media type test"),
        status=Status.FIRING,
        severity=Severity.INFO,
        title="Zabbix media type test",
        description="Sent by the Test button of the VixPro media type in Zabbix.",
        labels={"vixpro_test": "true"},
        raw=document,
    )


def alert_from_params(params: Params, document: Mapping[str, Any]) -> NormalizedAlert:
    event_id = params.text("event_id")
    if event_id is None:
        raise PayloadError(f"'{params.key('event_id')}' is required: set it to {{EVENT.ID}}")
    status = _status(params)
    title = (
        params.text("event_name")
        or params.text("alert_subject")
        or f"Zabbix problem {truncate(event_id, 40)}"
    )
    return NormalizedAlert(
        source=ZabbixAdapter.source,
        fingerprint=fingerprint(ZabbixAdapter.source, event_id),
        status=status,
        severity=_severity(params),
        title=truncate(title, 500),
        description=_description(params),
        labels=_labels(params, event_id),
        annotations=_annotations(params),
        starts_at=_time(params, "event_timestamp", "event_date", "event_time"),
        ends_at=_time(
            params, "event_recovery_timestamp", "event_recovery_date", "event_recovery_time"
        )
        if status is Status.RESOLVED
        else None,
        host_hints=host_hints(
            params.text("host_host"),
            params.text("host_name"),
            params.text("host_dns"),
            params.text("host_ip"),
        ),
        source_url=_source_url(params, event_id),
        acknowledged=(params.text("event_ack_status") or "").lower() in YES,
        raw=document,
    )


def verify_secret(request: WebhookRequest, config: IntegrationConfig) -> None:
    """Zabbix cannot sign; the media type's script sends the integration's secret instead."""
    check_secret_header(request, config, "fill in the media type's 'secret' parameter")


class ZabbixAdapter:
    source: ClassVar[str] = "zabbix"
    title: ClassVar[str] = "Zabbix"

    def parse(self, request: WebhookRequest, config: IntegrationConfig) -> Parsed:
        verify_secret(request, config)
        try:
            document = request.json_object()
            params = Params(document)
            if is_unresolved(params.raw("event_id")):
                return Parsed(alerts=(media_type_test(document),))
            return Parsed(alerts=(alert_from_params(params, document),))
        except PayloadError:
            raise
        except (ValueError, TypeError, KeyError, IndexError, RecursionError) as exc:
            # Odd input the checks above did not foresee still gets a reason, not a crash.
            raise PayloadError(f"the Zabbix payload could not be read: {exc}") from exc

    def sample(self) -> bytes:
        now = datetime.now(UTC)
        return json.dumps(
            {
                "event_id": "900001",
                "event_value": "1",
                "event_status": "PROBLEM",
                "event_update_status": "0",
                "event_update_action": "{EVENT.UPDATE.ACTION}",
                "event_ack_status": "No",
                "event_name": "VixPro test alert: high CPU utilization on web-1",
                "event_severity": "Average",
                "event_nseverity": "3",
                "event_opdata": "Current utilization: 93.5 %",
                "event_tags": json.dumps(
                    [
                        {"tag": "scope", "value": "performance"},
                        {"tag": "vixpro_test", "value": "true"},
                    ]
                ),
                "event_timestamp": str(int(now.timestamp())),
                "event_date": now.strftime("%Y.%m.%d"),
                "event_time": now.strftime("%H:%M:%S"),
                "event_recovery_id": "{EVENT.RECOVERY.ID}",
                "event_recovery_timestamp": "{EVENT.RECOVERY.TIMESTAMP}",
                "event_recovery_date": "{EVENT.RECOVERY.DATE}",
                "event_recovery_time": "{EVENT.RECOVERY.TIME}",
                "trigger_id": "20001",
                "trigger_description": "Sent from the Integrations page to check the setup.",
                "trigger_url": "",
                "host_name": "web-1",
                "host_host": "web-1.example",
                "host_ip": "192.0.2.10",
                "host_dns": "web-1.example",
                "zabbix_url": "https://zabbix.example",
                "alert_subject": "Problem: VixPro test alert",
                "alert_message": "Problem started on web-1",
            }
        ).encode()


ADAPTER = ZabbixAdapter()
