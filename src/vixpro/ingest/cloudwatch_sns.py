"""AWS CloudWatch alarms delivered by an Amazon SNS HTTPS subscription.

SNS posts a JSON envelope whose type is in the ``x-amz-sns-message-type`` header (and in the
body's ``Type``):

* ``SubscriptionConfirmation``: the subscription must be confirmed by fetching
  ``SubscribeURL``. The adapter checks the URL (HTTPS on an ``*.amazonaws.com`` host, or a host
  listed in the ``confirm_hosts`` option) and returns it as a :class:`Handshake` for the web
  layer to fetch; no alerts.
* ``Notification``: ``Message`` is the CloudWatch alarm as a JSON string (``AlarmName``,
  ``NewStateValue`` ALARM/OK/INSUFFICIENT_DATA, ``NewStateReason``, ``StateChangeTime``,
  ``AlarmArn``, ``Trigger`` with the metric and its dimensions).
* ``UnsubscribeConfirmation``: nothing to do.

SNS signs messages with an RSA key whose certificate must be downloaded from AWS; a pure
adapter cannot fetch it, so signatures are not verified here. The ``topic_arns`` option
limits which topics are accepted.

Options (``IntegrationConfig.options``): ``severity`` (critical/warning/info, the severity
of ALARM states; default warning), ``confirm_hosts`` (exact hosts also allowed for the
confirmation URL, ``http`` included), ``topic_arns`` (accepted topic ARNs; default any).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

from vixpro.core.alerts import NormalizedAlert, Severity, Status, fingerprint, host_hints, truncate
from vixpro.ingest.base import (
    Handshake,
    IntegrationConfig,
    Parsed,
    PayloadError,
    WebhookRequest,
    optional,
    parse_time,
    require,
)

SOURCE = "cloudwatch_sns"
HEADER = "x-amz-sns-message-type"
MESSAGE_TYPES = ("SubscriptionConfirmation", "Notification", "UnsubscribeConfirmation")

# Dimension names whose value says which machine the metric is about.
HOST_DIMENSIONS = {
    "instanceid",
    "instancename",
    "host",
    "hostname",
    "server",
    "servername",
    "nodename",
    "privateip",
    "privateipaddress",
}
HOST_PATTERN = re.compile(r"[a-z0-9.-]+")
REGION_PATTERN = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
MAX_ITEMS = 100


# ---- options -------------------------------------------------------------------------------


def _option_strings(config: IntegrationConfig, name: str) -> list[str]:
    value = config.options.get(name)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        return []
    return [item.strip() for item in value if isinstance(item, str) and item.strip()]


def _alarm_severity(config: IntegrationConfig) -> Severity:
    word = config.options.get("severity")
    if isinstance(word, str) and word.strip().lower() in {s.value for s in Severity}:
        return Severity(word.strip().lower())
    return Severity.WARNING


# ---- the envelope --------------------------------------------------------------------------


def _message_type(request: WebhookRequest, document: Mapping[str, Any]) -> str:
    header = (request.header(HEADER) or "").strip() or None
    body = optional(document, "Type", str)
    if header and body and header != body:
        raise PayloadError(
            f"the {HEADER} header says {header[:40]!r} but 'Type' says {body[:40]!r}"
        )
    kind = header or body
    if kind is None:
        raise PayloadError(
            f"'Type' is required (or the {HEADER} header): this does not look like an "
            "Amazon SNS message"
        )
    if kind not in MESSAGE_TYPES:
        raise PayloadError(
            f"unsupported SNS message type {kind[:40]!r}; expected one of {', '.join(MESSAGE_TYPES)}"
        )
    return kind


def _check_topic(document: Mapping[str, Any], config: IntegrationConfig) -> str | None:
    topic: str | None = optional(document, "TopicArn", str)
    allowed = _option_strings(config, "topic_arns")
    if allowed and topic not in allowed:
        raise PayloadError(
            f"'TopicArn' {truncate(topic, 120)!r} is not one of the topics this integration "
            "accepts; add it to the integration's topic list"
        )
    return topic


def check_confirm_url(url: str, config: IntegrationConfig) -> str:
    """The SubscribeURL if it is safe to fetch: https on *.amazonaws.com, or a listed host."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018  (raises ValueError for a malformed port)
    except ValueError as exc:
        raise PayloadError("'SubscribeURL' is not a valid URL") from exc
    if parts.username is not None or parts.password is not None:
        raise PayloadError("'SubscribeURL' must not carry credentials")
    allowed = {host.lower() for host in _option_strings(config, "confirm_hosts")}
    if host and host in allowed and parts.scheme in ("https", "http"):
        return text
    if (
        parts.scheme == "https"
        and host.endswith(".amazonaws.com")
        and HOST_PATTERN.fullmatch(host)
        and ".." not in host
    ):
        return text
    raise PayloadError(
        f"'SubscribeURL' must be an https URL on an amazonaws.com host, got "
        f"{truncate(parts.scheme + '://' + host, 80)!r}; refusing to confirm it"
    )


def _handshake(document: Mapping[str, Any], config: IntegrationConfig, topic: str | None) -> Parsed:
    url = check_confirm_url(require(document, "SubscribeURL", str), config)
    message = f"Confirm the Amazon SNS subscription to {topic or 'the topic'} by fetching its SubscribeURL"
    return Parsed(handshake=Handshake(confirm_url=url, message=message))


# ---- the CloudWatch alarm ------------------------------------------------------------------


def _alarm_message(document: Mapping[str, Any]) -> dict[str, Any]:
    text = require(document, "Message", str)
    try:
        alarm = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise PayloadError(
            f"'Message' is not a CloudWatch alarm (not JSON: {truncate(text, 60)!r}); subscribe "
            "this endpoint to a topic that receives CloudWatch alarm notifications"
        ) from exc
    if not isinstance(alarm, dict):
        raise PayloadError(f"'Message' must hold a JSON object, got {type(alarm).__name__}")
    if "AlarmName" not in alarm:
        raise PayloadError("'Message.AlarmName' is required: 'Message' is not a CloudWatch alarm")
    return alarm


def _dimension_pairs(value: object) -> Iterable[tuple[str, str]]:
    if not isinstance(value, list):
        return []
    pairs = []
    for item in value[:MAX_ITEMS]:
        if isinstance(item, Mapping):
            name, dimension = item.get("name"), item.get("value")
            if isinstance(name, str) and isinstance(dimension, str):
                pairs.append((name, dimension))
    return pairs


def _dimensions(trigger: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Dimensions of a single-metric trigger and of every metric in a metric-math trigger."""
    pairs = list(_dimension_pairs(trigger.get("Dimensions")))
    metrics = trigger.get("Metrics")
    for item in metrics[:MAX_ITEMS] if isinstance(metrics, list) else []:
        stat = item.get("MetricStat") if isinstance(item, Mapping) else None
        metric = stat.get("Metric") if isinstance(stat, Mapping) else None
        if isinstance(metric, Mapping):
            pairs += _dimension_pairs(metric.get("Dimensions"))
    return list(dict.fromkeys(pairs))


def _metric_names(trigger: Mapping[str, Any]) -> tuple[str | None, str | None]:
    name, namespace = trigger.get("MetricName"), trigger.get("Namespace")
    metrics = trigger.get("Metrics")
    for item in metrics[:MAX_ITEMS] if isinstance(metrics, list) else []:
        stat = item.get("MetricStat") if isinstance(item, Mapping) else None
        metric = stat.get("Metric") if isinstance(stat, Mapping) else None
        if isinstance(metric, Mapping) and name is None:
            name, namespace = metric.get("MetricName"), metric.get("Namespace")
    return (
        name if isinstance(name, str) else None,
        namespace if isinstance(namespace, str) else None,
    )


def _console_url(arn: str | None, name: str) -> str | None:
    """The alarm's page in the CloudWatch console (commercial partition only)."""
    parts = arn.split(":") if arn else []
    if len(parts) < 4 or parts[:3] != ["arn", "aws", "cloudwatch"]:
        return None
    region = parts[3]
    if not REGION_PATTERN.fullmatch(region):
        return None
    return (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#alarmsV2:alarm/{quote(name.encode('utf-8', 'surrogatepass'), safe='')}"
    )


def _attribute_labels(document: Mapping[str, Any]) -> dict[str, str]:
    """String SNS message attributes (the test alert's ``vixpro_test``, publishers' tags)."""
    attributes = document.get("MessageAttributes")
    labels: dict[str, str] = {}
    if isinstance(attributes, Mapping):
        for name, item in list(attributes.items())[:MAX_ITEMS]:
            value = item.get("Value") if isinstance(item, Mapping) else None
            if isinstance(value, str):
                labels[str(name)] = truncate(value, 1_000)
    return labels


def _alert(
    document: Mapping[str, Any], alarm: dict[str, Any], config: IntegrationConfig, topic: str | None
) -> NormalizedAlert:
    name = require(alarm, "AlarmName", str, "Message")
    if not name.strip():
        raise PayloadError("'Message.AlarmName' must not be empty")
    state = require(alarm, "NewStateValue", str, "Message")
    if state == "ALARM":
        status, severity = Status.FIRING, _alarm_severity(config)
    elif state == "INSUFFICIENT_DATA":
        status, severity = Status.FIRING, Severity.INFO
    elif state == "OK":
        status, severity = Status.RESOLVED, Severity.INFO
    else:
        raise PayloadError(
            "'Message.NewStateValue' must be ALARM, OK or INSUFFICIENT_DATA, "
            f"got {truncate(state, 40)!r}"
        )
    arn = optional(alarm, "AlarmArn", str, "Message")
    account = optional(alarm, "AWSAccountId", str, "Message")
    region = optional(alarm, "Region", str, "Message")
    trigger = optional(alarm, "Trigger", dict, "Message") or {}
    dimensions = _dimensions(trigger)
    metric, namespace = _metric_names(trigger)
    changed = parse_time(alarm.get("StateChangeTime"), "Message.StateChangeTime")
    labels = {
        key: truncate(value, 1_000)
        for key, value in (
            ("alarm_name", name),
            ("state", state),
            ("old_state", alarm.get("OldStateValue")),
            ("region", region),
            ("account_id", account),
            ("namespace", namespace),
            ("metric_name", metric),
            ("topic_arn", topic),
            *dimensions,
        )
        if isinstance(value, str) and value
    }
    labels.update(_attribute_labels(document))
    description = optional(alarm, "AlarmDescription", str, "Message") or ""
    reason = optional(alarm, "NewStateReason", str, "Message") or ""
    rule = alarm.get("AlarmRule")  # composite alarms
    identity = ("arn", arn) if arn else ("name", account, region, name)
    return NormalizedAlert(
        source=SOURCE,
        fingerprint=fingerprint(SOURCE, *identity),
        status=status,
        severity=severity,
        title=truncate(name.strip(), 500),
        description=truncate(
            "\n".join(
                line
                for line in (
                    description.strip(),
                    reason.strip(),
                    f"Rule: {rule}" if isinstance(rule, str) and rule else "",
                )
                if line
            ),
            10_000,
        ),
        labels=labels,
        annotations={"state_reason": truncate(reason, 2_000)} if reason else {},
        starts_at=changed if status is Status.FIRING else None,
        ends_at=changed if status is Status.RESOLVED else None,
        host_hints=host_hints(
            [value for key, value in dimensions if key.lower() in HOST_DIMENSIONS]
        ),
        source_url=_console_url(arn, name),
        raw={**document, "Message": alarm},
    )


class CloudWatchSnsAdapter:
    source: ClassVar[str] = SOURCE
    title: ClassVar[str] = "AWS CloudWatch (via Amazon SNS)"

    def parse(self, request: WebhookRequest, config: IntegrationConfig) -> Parsed:
        try:
            document = request.json_object()
            kind = _message_type(request, document)
            topic = _check_topic(document, config)
            if kind == "SubscriptionConfirmation":
                return _handshake(document, config, topic)
            if kind == "UnsubscribeConfirmation":
                return Parsed()
            alarm = _alarm_message(document)
            return Parsed(alerts=(_alert(document, alarm, config, topic),))
        except RecursionError as exc:
            raise PayloadError("the payload is nested too deeply") from exc

    def sample(self) -> bytes:
        now = datetime.now(UTC)
        alarm = {
            "AlarmName": "VixPro test alert: web-1 CPU above 90%",
            "AlarmDescription": "Sent from VixPro's Integrations page to check the setup.",
            "AWSAccountId": "123456789012",
            "AlarmConfigurationUpdatedTimestamp": now.isoformat(),
            "NewStateValue": "ALARM",
            "NewStateReason": "Threshold Crossed: 1 out of the last 1 datapoints [97.5] was "
            "greater than the threshold (90.0).",
            "StateChangeTime": now.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
            "Region": "US East (N. Virginia)",
            "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:vixpro-test",
            "OldStateValue": "OK",
            "Trigger": {
                "MetricName": "CPUUtilization",
                "Namespace": "AWS/EC2",
                "StatisticType": "Statistic",
                "Statistic": "AVERAGE",
                "Unit": None,
                "Dimensions": [
                    {"value": "i-0123456789abcdef0", "name": "InstanceId"},
                    {"value": "web-1.example", "name": "host"},
                ],
                "Period": 300,
                "EvaluationPeriods": 1,
                "ComparisonOperator": "GreaterThanThreshold",
                "Threshold": 90.0,
            },
        }
        return json.dumps(
            {
                "Type": "Notification",
                "MessageId": "00000000-0000-4000-8000-000000000000",
                "TopicArn": "arn:aws:sns:us-east-1:123456789012:vixpro-test",
                "Subject": 'ALARM: "VixPro test alert" in US East (N. Virginia)',
                "Message": json.dumps(alarm),
                "Timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "SignatureVersion": "1",
                "Signature": "EXAMPLE",
                "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-example.pem",
                "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
                "MessageAttributes": {"vixpro_test": {"Type": "String", "Value": "true"}},
            }
        ).encode()


ADAPTER = CloudWatchSnsAdapter()
