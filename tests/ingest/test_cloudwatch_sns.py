from __future__ import annotations

import json
import re

import pytest

from tests.ingest.fixtures import fixture_bytes, fixture_names, parse_fixture, request
from vixpro.core.alerts import Severity, Status
from vixpro.ingest.base import IntegrationConfig, PayloadError
from vixpro.ingest.cloudwatch_sns import ADAPTER

SOURCE = "cloudwatch_sns"

# Fixtures that carry an alarm: (status, severity, title, host hints, console link).
ALARMS = {
    "notification_alarm_single_metric.json": (
        Status.FIRING,
        Severity.WARNING,
        "EXAMPLE",
        ("testinstance",),
        None,
    ),
    "notification_alarm_metric_math.json": (
        Status.FIRING,
        Severity.WARNING,
        "EXAMPLE",
        ("testinstance",),
        None,
    ),
    "notification_ec2_alarm.json": (
        Status.FIRING,
        Severity.WARNING,
        "web-2 high CPU",
        ("i-0a1b2c3d4e5f67890",),
        "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1"
        "#alarmsV2:alarm/web-2%20high%20CPU",
    ),
    "notification_ec2_ok.json": (
        Status.RESOLVED,
        Severity.INFO,
        "web-2 high CPU",
        ("i-0a1b2c3d4e5f67890",),
        "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1"
        "#alarmsV2:alarm/web-2%20high%20CPU",
    ),
    "notification_ec2_insufficient_data.json": (
        Status.FIRING,
        Severity.INFO,
        "web-2 high CPU",
        ("i-0a1b2c3d4e5f67890",),
        "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1"
        "#alarmsV2:alarm/web-2%20high%20CPU",
    ),
}
# Fixtures without alarms: the handshake URL they must give (or None).
CONTROL = {
    "subscription_confirmation.json": "https://sns.us-west-2.amazonaws.com/"
    "?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:123456789012:MyTopic&Token=",
    "unsubscribe_confirmation.json": None,
}


def test_every_fixture_has_expectations() -> None:
    assert set(fixture_names(SOURCE)) == set(ALARMS) | set(CONTROL)


@pytest.mark.parametrize("name", sorted(ALARMS))
def test_alarm_fixture_parses_to_expected_alert(name: str) -> None:
    status, severity, title, hints, url = ALARMS[name]
    parsed = parse_fixture(ADAPTER, SOURCE, name)
    assert parsed.handshake is None
    assert len(parsed.alerts) == 1
    alert = parsed.alerts[0]
    assert (alert.status, alert.severity, alert.title, alert.host_hints, alert.source_url) == (
        status,
        severity,
        title,
        hints,
        url,
    )
    assert alert.source == SOURCE
    envelope = json.loads(fixture_bytes(SOURCE, name))
    assert alert.raw["Message"] == json.loads(envelope["Message"])
    assert alert.raw["TopicArn"] == envelope["TopicArn"]


@pytest.mark.parametrize("name", sorted(CONTROL))
def test_control_message_gives_no_alerts(name: str) -> None:
    parsed = parse_fixture(ADAPTER, SOURCE, name)
    assert parsed.alerts == ()
    expected = CONTROL[name]
    if expected is None:
        assert parsed.handshake is None
    else:
        assert parsed.handshake is not None
        assert parsed.handshake.confirm_url.startswith(expected)
        assert "arn:aws:sns:us-west-2:123456789012:MyTopic" in parsed.handshake.message


def test_alarm_details_are_kept() -> None:
    alert = parse_fixture(ADAPTER, SOURCE, "notification_ec2_alarm.json").alerts[0]
    assert alert.labels["InstanceId"] == "i-0a1b2c3d4e5f67890"
    assert alert.labels["metric_name"] == "CPUUtilization"
    assert alert.labels["namespace"] == "AWS/EC2"
    assert alert.labels["region"] == "EU (Ireland)"
    assert alert.description.startswith("CPU utilization of web-2 above 80% for 10 minutes\n")
    assert "Threshold Crossed" in alert.annotations["state_reason"]
    assert alert.starts_at is not None and alert.starts_at.isoformat().startswith(
        "2024-03-01T09:10"
    )
    math = parse_fixture(ADAPTER, SOURCE, "notification_alarm_metric_math.json").alerts[0]
    assert math.labels["metric_name"] == "NetworkOut"


def test_alarm_and_ok_share_a_fingerprint() -> None:
    alarm = parse_fixture(ADAPTER, SOURCE, "notification_ec2_alarm.json").alerts[0]
    ok = parse_fixture(ADAPTER, SOURCE, "notification_ec2_ok.json").alerts[0]
    gap = parse_fixture(ADAPTER, SOURCE, "notification_ec2_insufficient_data.json").alerts[0]
    assert alarm.fingerprint == ok.fingerprint == gap.fingerprint
    assert ok.ends_at is not None and ok.starts_at is None
    other = parse_fixture(ADAPTER, SOURCE, "notification_alarm_single_metric.json").alerts[0]
    assert other.fingerprint != alarm.fingerprint


def test_severity_option_sets_alarm_severity() -> None:
    config = IntegrationConfig(options={"severity": "critical"})
    body = fixture_bytes(SOURCE, "notification_ec2_alarm.json")
    assert ADAPTER.parse(request(body), config).alerts[0].severity is Severity.CRITICAL
    ok = fixture_bytes(SOURCE, "notification_ec2_ok.json")
    assert ADAPTER.parse(request(ok), config).alerts[0].severity is Severity.INFO


def test_header_names_the_message_type() -> None:
    body = fixture_bytes(SOURCE, "notification_ec2_alarm.json")
    headers = {"x-amz-sns-message-type": "Notification"}
    assert len(ADAPTER.parse(request(body, headers), IntegrationConfig()).alerts) == 1
    with pytest.raises(PayloadError, match=re.escape("header says 'SubscriptionConfirmation'")):
        ADAPTER.parse(
            request(body, {"x-amz-sns-message-type": "SubscriptionConfirmation"}),
            IntegrationConfig(),
        )


def test_topic_allow_list() -> None:
    body = fixture_bytes(SOURCE, "notification_ec2_alarm.json")
    allowed = IntegrationConfig(
        options={"topic_arns": ["arn:aws:sns:eu-west-1:123456789012:vixpro-alarms"]}
    )
    assert len(ADAPTER.parse(request(body), allowed).alerts) == 1
    other = IntegrationConfig(options={"topic_arns": ["arn:aws:sns:eu-west-1:123456789012:other"]})
    with pytest.raises(PayloadError, match=re.escape("is not one of the topics")):
        ADAPTER.parse(request(body), other)


def _confirmation(url: str) -> bytes:
    document = json.loads(fixture_bytes(SOURCE, "subscription_confirmation.json"))
    document["SubscribeURL"] = url
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    "url",
    [
        "http://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription",
        "https://evil.example/?Action=ConfirmSubscription",
        "https://sns.us-west-2.amazonaws.com.evil.example/",
        "https://amazonaws.com/",
        "https://user:pw@sns.us-west-2.amazonaws.com/",
        "https://sns.us-west-2.amazonaws.com:99999/",
        "ftp://sns.us-west-2.amazonaws.com/",
        "javascript:alert(1)",
        "http://127.0.0.1:8080/confirm",
    ],
)
def test_unsafe_confirm_urls_are_refused(url: str) -> None:
    with pytest.raises(PayloadError, match=re.escape("'SubscribeURL'")):
        ADAPTER.parse(request(_confirmation(url)), IntegrationConfig())


def test_listed_confirm_hosts_are_allowed_over_http() -> None:
    url = "http://127.0.0.1:8080/confirm?Token=abc"
    config = IntegrationConfig(options={"confirm_hosts": ["127.0.0.1"]})
    parsed = ADAPTER.parse(request(_confirmation(url)), config)
    assert parsed.handshake is not None and parsed.handshake.confirm_url == url
    assert parsed.alerts == ()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (b"{not json", "not valid JSON"),
        (b"[]", "expected a JSON object"),
        (b"{}", "'Type' is required"),
        (b'{"Type": "Hello"}', "unsupported SNS message type 'Hello'"),
        (b'{"Type": "SubscriptionConfirmation"}', "'SubscribeURL' is required"),
        (b'{"Type": "Notification"}', "'Message' is required"),
        (
            b'{"Type": "Notification", "Message": "Hello world!"}',
            "'Message' is not a CloudWatch alarm (not JSON",
        ),
        (b'{"Type": "Notification", "Message": "[1]"}', "'Message' must hold a JSON object"),
        (b'{"Type": "Notification", "Message": "{}"}', "'Message.AlarmName' is required"),
        (
            b'{"Type": "Notification", "Message": "{\\"AlarmName\\": \\"a\\"}"}',
            "'Message.NewStateValue' is required",
        ),
        (
            b'{"Type": "Notification", "Message": '
            b'"{\\"AlarmName\\": \\"a\\", \\"NewStateValue\\": \\"BAD\\"}"}',
            "'Message.NewStateValue' must be ALARM, OK or INSUFFICIENT_DATA",
        ),
        (
            b'{"Type": "Notification", "Message": "{\\"AlarmName\\": \\"a\\", '
            b'\\"NewStateValue\\": \\"OK\\", \\"StateChangeTime\\": \\"later\\"}"}',
            "'Message.StateChangeTime' is not an ISO 8601 time",
        ),
        (
            b'{"Type": "Notification", "Message": "{\\"AlarmName\\": \\"a\\", '
            b'\\"NewStateValue\\": \\"OK\\", \\"Trigger\\": []}"}',
            "'Message.Trigger' must be an object",
        ),
        (
            b'{"Type": "Notification", "Message": "' + b"[" * 100_000 + b'"}',
            "'Message' is not a CloudWatch alarm",
        ),
        (
            json.dumps(
                {
                    "Type": "Notification",
                    "Message": json.dumps(
                        {"AlarmName": "a", "NewStateValue": "OK", "StateChangeTime": "\u00b2"}
                    ),
                }
            ).encode(),
            "'Message.StateChangeTime' is not an ISO 8601 time",
        ),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_bad_payload_is_refused_with_reason(body: bytes, reason: str) -> None:
    with pytest.raises(PayloadError, match=re.escape(reason)):
        ADAPTER.parse(request(body), IntegrationConfig())


def test_sample_is_accepted() -> None:
    alert = ADAPTER.parse(request(ADAPTER.sample()), IntegrationConfig()).alerts[0]
    assert alert.labels["vixpro_test"] == "true"
    assert alert.host_hints == ("i-0123456789abcdef0", "web-1.example")
    assert alert.source_url is not None and "region=us-east-1" in alert.source_url


def test_odd_alarm_names_still_give_a_console_link() -> None:
    document = json.loads(fixture_bytes(SOURCE, "notification_ec2_alarm.json"))
    alarm = json.loads(document["Message"])
    alarm["AlarmName"] = "cpu \ud800 / 100%"
    document["Message"] = json.dumps(alarm)
    alert = ADAPTER.parse(request(json.dumps(document).encode()), IntegrationConfig()).alerts[0]
    assert alert.source_url is not None and alert.source_url.endswith("%2F%20100%25")
