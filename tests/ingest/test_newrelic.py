from __future__ import annotations

import base64
import json
import re

import pytest

from tests.ingest.fixtures import fixture_bytes, fixture_names, parse_fixture, request
from vixpro.core.alerts import Severity, Status
from vixpro.ingest.base import IntegrationConfig, PayloadError, SignatureError
from vixpro.ingest.newrelic import ADAPTER

SOURCE = "newrelic"

# What each stored fixture must give: (status, severity, acknowledged, title, host hints).
EXPECTED = {
    "workflow_activated_critical.json": (
        Status.FIRING,
        Severity.CRITICAL,
        False,
        "zulip_app query result is > 1.0 for 1 minutes on 'Zulip Server Low Storage'",
        ("zulip_app",),
    ),
    "workflow_acknowledged_high.json": (
        Status.FIRING,
        Severity.WARNING,
        True,
        "PIETER-UBUNTU query result is > 1.0 for 5 minutes on 'Storage on Host Exceeded Threshold'",
        ("pieter-ubuntu",),
    ),
    "workflow_activated_host.json": (
        Status.FIRING,
        Severity.CRITICAL,
        False,
        "main_app-UBUNTU query result is > 2.0 for 1 minutes on 'High CPU'",
        ("main_app-ubuntu",),
    ),
    "workflow_closed.json": (
        Status.RESOLVED,
        Severity.CRITICAL,
        False,
        "main_app-UBUNTU query result is > 2.0 for 1 minutes on 'High CPU'",
        ("main_app-ubuntu",),
    ),
    "workflow_correlated_low_entities_data.json": (
        Status.FIRING,
        Severity.INFO,
        False,
        "Memory Used % > 80 for at least 10 minutes on 'web-4.prod.example.com'",
        ("web-4.prod.example.com", "web-5.prod.example.com"),
    ),
    "legacy_channel_open.json": (
        Status.FIRING,
        Severity.CRITICAL,
        False,
        "High CPU on app-7.example.com",
        ("app-7.example.com",),
    ),
    "legacy_channel_closed.json": (
        Status.RESOLVED,
        Severity.CRITICAL,
        False,
        "High CPU on app-7.example.com",
        ("app-7.example.com",),
    ),
}


def test_every_fixture_has_expectations() -> None:
    assert set(fixture_names(SOURCE)) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_parses_to_expected_alert(name: str) -> None:
    status, severity, acknowledged, title, hints = EXPECTED[name]
    parsed = parse_fixture(ADAPTER, SOURCE, name)
    assert len(parsed.alerts) == 1
    alert = parsed.alerts[0]
    assert (alert.status, alert.severity, alert.acknowledged, alert.title, alert.host_hints) == (
        status,
        severity,
        acknowledged,
        title,
        hints,
    )
    assert alert.source == SOURCE
    assert alert.raw == json.loads(fixture_bytes(SOURCE, name))
    assert alert.source_url is not None and alert.source_url.startswith("https://")
    assert alert.starts_at is not None or alert.status is Status.RESOLVED


def test_workflow_details_are_kept() -> None:
    alert = parse_fixture(ADAPTER, SOURCE, "workflow_activated_critical.json").alerts[0]
    assert alert.labels["issue_id"] == "c5faa7e6-7b54-402d-af79-f99601e0278c"
    assert alert.labels["policies"] == "Golden Signals"
    assert alert.labels["conditions"] == "Zulip Server Low Storage"
    assert alert.labels["workflow"] == "testWorkflow"
    assert "Impacted entities: zulip_app" in alert.description
    assert alert.starts_at is not None and alert.starts_at.year == 2024
    correlated = parse_fixture(ADAPTER, SOURCE, "workflow_correlated_low_entities_data.json")
    assert correlated.alerts[0].labels["correlated"] == "true"
    assert correlated.alerts[0].source_url is not None


def test_issue_closing_resolves_the_same_fingerprint() -> None:
    opened = parse_fixture(ADAPTER, SOURCE, "workflow_activated_host.json").alerts[0]
    closed = parse_fixture(ADAPTER, SOURCE, "workflow_closed.json").alerts[0]
    assert opened.fingerprint == closed.fingerprint
    assert closed.ends_at is not None


def test_legacy_incident_closing_resolves_the_same_fingerprint() -> None:
    opened = parse_fixture(ADAPTER, SOURCE, "legacy_channel_open.json").alerts[0]
    closed = parse_fixture(ADAPTER, SOURCE, "legacy_channel_closed.json").alerts[0]
    assert opened.fingerprint == closed.fingerprint
    assert opened.annotations["runbook_url"] == "https://wiki.example.com/runbooks/high-cpu"
    assert closed.ends_at is not None and opened.starts_at is not None


def test_different_issues_have_different_fingerprints() -> None:
    prints = {
        parse_fixture(ADAPTER, SOURCE, name).alerts[0].fingerprint
        for name in (
            "workflow_activated_critical.json",
            "workflow_acknowledged_high.json",
            "workflow_activated_host.json",
            "workflow_correlated_low_entities_data.json",
            "legacy_channel_open.json",
        )
    }
    assert len(prints) == 5


def test_issue_without_id_still_gets_a_stable_identity() -> None:
    document = json.loads(fixture_bytes(SOURCE, "workflow_activated_host.json"))
    del document["id"]
    fired = ADAPTER.parse(request(json.dumps(document).encode()), IntegrationConfig()).alerts[0]
    document["state"] = "CLOSED"
    document["updatedAt"] = 1713766999999
    closed = ADAPTER.parse(request(json.dumps(document).encode()), IntegrationConfig()).alerts[0]
    assert fired.fingerprint == closed.fingerprint


SECRET = "nr-destination-token"


@pytest.mark.parametrize(
    "header",
    [f"Bearer {SECRET}", "Basic " + base64.b64encode(f"vixpro:{SECRET}".encode()).decode()],
)
def test_configured_secret_accepts_bearer_or_basic(header: str) -> None:
    body = fixture_bytes(SOURCE, "workflow_closed.json")
    config = IntegrationConfig(signing_secret=SECRET)
    parsed = ADAPTER.parse(request(body, {"Authorization": header}), config)
    assert parsed.alerts[0].status is Status.RESOLVED


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "the Authorization header is missing"),
        ({"Authorization": "Bearer nope"}, "do not match"),
        ({"Authorization": "Basic %%%"}, "malformed"),
        ({"Authorization": "Digest abc"}, "Bearer or Basic"),
    ],
)
def test_configured_secret_refuses_missing_or_wrong(headers: dict[str, str], reason: str) -> None:
    body = fixture_bytes(SOURCE, "workflow_closed.json")
    with pytest.raises(SignatureError, match=re.escape(reason)):
        ADAPTER.parse(request(body, headers), IntegrationConfig(signing_secret=SECRET))


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (b"{not json", "not valid JSON"),
        (b"[]", "expected a JSON object"),
        (b'{"id": "x"}', "'state' is required"),
        (b'{"id": "x", "state": "FIRING"}', "'state' must be one of CREATED, ACTIVATED"),
        (b'{"id": "x", "state": ["ACTIVATED"]}', "'state' must be a string"),
        (b'{"state": "ACTIVATED", "alertPolicyNames": 3}', "'alertPolicyNames' must be a list"),
        (
            b'{"state": "ACTIVATED", "impactedEntities": [{}, []]}',
            "'impactedEntities[1]' must be a string",
        ),
        (b'{"state": "ACTIVATED", "entitiesData": []}', "'entitiesData' must be an object"),
        (b'{"state": "ACTIVATED", "createdAt": "yesterday"}', "'createdAt' is not an ISO 8601"),
        (b'{"incident_id": 1}', "'current_state' is required"),
        (b'{"current_state": "gone"}', "'current_state' must be open, acknowledged or closed"),
        (b'{"current_state": "open", "targets": {}}', "'targets' must be a list"),
        (b'{"current_state": "open", "targets": [1]}', "'targets[0]' must be an object"),
        (b'{"current_state": "open", "timestamp": 1e300}', "'timestamp' is not a valid Unix"),
        (
            '{"state": "CLOSED", "createdAt": "\u00b2"}'.encode(),
            "'createdAt' is not an ISO 8601 time",
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
    assert alert.host_hints == ("web-1.example",)
    assert alert.severity is Severity.WARNING
