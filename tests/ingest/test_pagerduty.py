from __future__ import annotations

import json
import re

import pytest

from tests.ingest.fixtures import fixture_bytes, fixture_names, parse_fixture, request
from vixpro.core.alerts import NormalizedAlert, Severity, Status
from vixpro.ingest.base import IntegrationConfig, PayloadError, SignatureError
from vixpro.ingest.pagerduty import (
    ADAPTER,
    accepted_response,
    derived_dedup_key,
    error_response,
)

SOURCE = "pagerduty"

# What each stored fixture must give: (status, severity, title, host hints, acknowledged,
# dedup key).
EXPECTED: dict[str, tuple[Status, Severity, str, tuple[str, ...], bool, str]] = {
    "trigger_full.json": (
        Status.FIRING,
        Severity.INFO,
        "Example alert on host1.example.com",
        (),
        False,
        "samplekeyhere",
    ),
    "trigger_minimal_no_dedup_key.json": (
        Status.FIRING,
        Severity.CRITICAL,
        "Example alert on host1.example.com",
        (),
        False,
        derived_dedup_key(
            "Example alert on host1.example.com",
            "monitoringtool:cloudvendor:central-region-dc-01:852559987:cluster/api-stats-prod-003",
        ),
    ),
    "acknowledge.json": (
        Status.FIRING,
        Severity.WARNING,
        "Acknowledged: samplekeyhere",
        (),
        True,
        "samplekeyhere",
    ),
    "resolve.json": (
        Status.RESOLVED,
        Severity.WARNING,
        "Resolved: samplekeyhere",
        (),
        False,
        "samplekeyhere",
    ),
    "alertmanager_trigger.json": (
        Status.FIRING,
        Severity.CRITICAL,
        "[FIRING:1] NodeFilesystemAlmostFull (db-2.internal:9100 /var/lib/postgresql)",
        ("db-2.internal",),
        False,
        "b5d1a2f0c8e34f6e9a7b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f",
    ),
    "alertmanager_resolve.json": (
        Status.RESOLVED,
        Severity.CRITICAL,
        "[RESOLVED] NodeFilesystemAlmostFull (db-2.internal:9100 /var/lib/postgresql)",
        ("db-2.internal",),
        False,
        "b5d1a2f0c8e34f6e9a7b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f",
    ),
}


def _one(body: bytes | dict[str, object], secret: str | None = None) -> NormalizedAlert:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    parsed = ADAPTER.parse(request(data), IntegrationConfig(signing_secret=secret))
    assert len(parsed.alerts) == 1
    return parsed.alerts[0]


def _fixture(name: str) -> dict[str, object]:
    document = json.loads(fixture_bytes(SOURCE, name))
    assert isinstance(document, dict)
    return document


def test_every_fixture_has_expectations() -> None:
    assert set(fixture_names(SOURCE)) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_parses_to_expected_alert(name: str) -> None:
    status, severity, title, hints, acknowledged, dedup_key = EXPECTED[name]
    parsed = parse_fixture(ADAPTER, SOURCE, name)
    assert len(parsed.alerts) == 1
    alert = parsed.alerts[0]
    assert (alert.status, alert.severity, alert.title, alert.host_hints) == (
        status,
        severity,
        title,
        hints,
    )
    assert alert.acknowledged is acknowledged
    assert alert.labels["dedup_key"] == dedup_key
    assert alert.source == SOURCE
    assert (alert.ends_at is not None) == (status is Status.RESOLVED)
    assert accepted_response(parsed) == {
        "status": "success",
        "message": "Event processed",
        "dedup_key": dedup_key,
    }


def test_trigger_acknowledge_and_resolve_share_a_fingerprint() -> None:
    prints = {
        parse_fixture(ADAPTER, SOURCE, name).alerts[0].fingerprint
        for name in ("trigger_full.json", "acknowledge.json", "resolve.json")
    }
    assert len(prints) == 1
    alertmanager = {
        parse_fixture(ADAPTER, SOURCE, name).alerts[0].fingerprint
        for name in ("alertmanager_trigger.json", "alertmanager_resolve.json")
    }
    assert len(alertmanager) == 1
    assert alertmanager != prints


def test_dedup_keys_are_scoped_by_routing_key() -> None:
    other = _fixture("trigger_full.json")
    other["routing_key"] = "anotherserviceskey"
    first = parse_fixture(ADAPTER, SOURCE, "trigger_full.json").alerts[0]
    assert _one(other).fingerprint != first.fingerprint


def test_trigger_without_dedup_key_can_be_resolved_with_the_returned_key() -> None:
    trigger = parse_fixture(ADAPTER, SOURCE, "trigger_minimal_no_dedup_key.json")
    returned = accepted_response(trigger)["dedup_key"]
    assert returned.startswith("vixpro-")
    again = parse_fixture(ADAPTER, SOURCE, "trigger_minimal_no_dedup_key.json").alerts[0]
    resolve: dict[str, object] = {
        "routing_key": "samplekeyhere",
        "dedup_key": returned,
        "event_action": "resolve",
    }
    resolved = _one(resolve)
    assert trigger.alerts[0].fingerprint == again.fingerprint == resolved.fingerprint
    assert resolved.status is Status.RESOLVED


def test_fields_are_carried_over() -> None:
    alert = parse_fixture(ADAPTER, SOURCE, "trigger_full.json").alerts[0]
    assert alert.source_url == "https://monitoring.example.com"
    assert alert.annotations == {"ping time": "1500ms", "load avg": "0.75"}
    assert alert.labels["component"] == "postgres"
    assert alert.labels["class"] == "deploy"
    assert "Link text: https://example.com/" in alert.description
    assert alert.starts_at is not None and alert.starts_at.year == 2015
    assert alert.raw["routing_key"] == "…here"
    assert alert.raw["payload"] == _fixture("trigger_full.json")["payload"]


def test_links_give_the_url_without_client_url() -> None:
    event = _fixture("alertmanager_trigger.json")
    del event["client_url"]
    assert _one(event).source_url == (
        "http://prometheus.example:9090/graph?g0.expr=node_filesystem_avail_bytes"
    )


@pytest.mark.parametrize(
    ("word", "severity"),
    [
        ("critical", Severity.CRITICAL),
        ("error", Severity.CRITICAL),
        ("warning", Severity.WARNING),
        ("info", Severity.INFO),
        ("Warning", Severity.WARNING),
    ],
)
def test_severity_mapping(word: str, severity: Severity) -> None:
    event = _fixture("trigger_full.json")
    event["payload"] = {**event["payload"], "severity": word}  # type: ignore[dict-item]
    assert _one(event).severity is severity


def test_custom_details_host_is_a_hint() -> None:
    event = _fixture("trigger_minimal_no_dedup_key.json")
    event["payload"] = {
        "summary": "Disk full",
        "source": "web-7.example.com",
        "severity": "warning",
        "custom_details": {"Host": "10.0.4.7", "ip": "not an address"},
    }
    assert _one(event).host_hints == ("web-7.example.com", "10.0.4.7")


def test_routing_key_is_the_secret_when_one_is_set() -> None:
    event = _fixture("trigger_full.json")
    event["routing_key"] = "integration-secret-0123456789"
    assert _one(event, secret="integration-secret-0123456789").title
    with pytest.raises(SignatureError, match=re.escape("'routing_key' does not match")):
        _one(event, secret="another-secret-0123456789")
    del event["routing_key"]
    with pytest.raises(SignatureError, match=re.escape("'routing_key' is missing")):
        _one(event, secret="integration-secret-0123456789")


def test_without_a_secret_any_routing_key_is_accepted() -> None:
    assert _one(_fixture("resolve.json")).status is Status.RESOLVED


def test_error_response_has_pagerduty_shape() -> None:
    with pytest.raises(PayloadError) as caught:
        _one({"routing_key": "k", "event_action": "trigger"})
    assert error_response(caught.value) == {
        "status": "invalid event",
        "message": "Event object is invalid",
        "errors": ["'payload' is required"],
    }


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (b"{not json", "not valid JSON"),
        (b"[]", "one event per request, not a list"),
        (b'"trigger"', "expected a JSON object"),
        (b"{}", "'routing_key' is required"),
        (b'{"routing_key": 5}', "'routing_key' must be a string"),
        (b'{"routing_key": "k"}', "'event_action' is required"),
        (b'{"routing_key": "k", "event_action": "snooze"}', "'event_action' must be 'trigger'"),
        (b'{"routing_key": "k", "event_action": "trigger"}', "'payload' is required"),
        (
            b'{"routing_key": "k", "event_action": "trigger", "payload": {}}',
            "'payload.summary' is required for trigger events",
        ),
        (
            b'{"routing_key": "k", "event_action": "trigger", "payload": {"summary": "s"}}',
            "'payload.source' is required for trigger events",
        ),
        (
            b'{"routing_key": "k", "event_action": "trigger",'
            b' "payload": {"summary": "s", "source": "h"}}',
            "'payload.severity' is required",
        ),
        (
            b'{"routing_key": "k", "event_action": "trigger",'
            b' "payload": {"summary": "s", "source": "h", "severity": "sev1"}}',
            "'payload.severity' must be one of critical, error, warning, info",
        ),
        (
            b'{"routing_key": "k", "event_action": "trigger",'
            b' "payload": {"summary": ["s"], "source": "h", "severity": "info"}}',
            "'payload.summary' must be a string",
        ),
        (
            b'{"routing_key": "k", "event_action": "trigger", "payload":'
            b' {"summary": "s", "source": "h", "severity": "info", "timestamp": "now"}}',
            "'payload.timestamp' is not an ISO 8601 time",
        ),
        (
            b'{"routing_key": "k", "event_action": "acknowledge"}',
            "'dedup_key' is required for acknowledge events",
        ),
        (
            b'{"routing_key": "k", "event_action": "resolve"}',
            "'dedup_key' is required for resolve events",
        ),
        (
            b'{"routing_key": "k", "event_action": "resolve", "dedup_key": {}}',
            "'dedup_key' must be a string",
        ),
        (
            b'{"routing_key": "k", "event_action": "resolve", "dedup_key": "' + b"x" * 256 + b'"}',
            "'dedup_key' must be at most 255 characters",
        ),
        (
            b'{"routing_key": "k", "event_action": "resolve", "dedup_key": "d", "payload": 1}',
            "'payload' must be an object",
        ),
        (
            b'{"routing_key": "k", "event_action": "resolve", "dedup_key": "d", "links": {}}',
            "'links' must be a list",
        ),
        (
            b'{"routing_key": "k", "event_action": "resolve", "dedup_key": "d", "links": [1]}',
            "'links[0]' must be an object",
        ),
        (
            b'{"routing_key": "k", "event_action": "resolve", "dedup_key": "d",'
            b' "images": [{"alt": "x"}]}',
            "'images[0].src' must be a string",
        ),
    ],
)
def test_bad_payload_is_refused_with_reason(body: bytes, reason: str) -> None:
    with pytest.raises(PayloadError, match=re.escape(reason)):
        ADAPTER.parse(request(body), IntegrationConfig())


def test_sample_is_accepted() -> None:
    alert = _one(ADAPTER.sample())
    assert alert.annotations["vixpro_test"] == "true"
    assert alert.host_hints == ("web-1.example",)
    assert alert.starts_at is not None
