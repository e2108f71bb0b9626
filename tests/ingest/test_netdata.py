from __future__ import annotations

import base64
import json
import re

import pytest

from tests.ingest.fixtures import fixture_bytes, fixture_names, parse_fixture, request
from vixpro.core.alerts import Severity, Status
from vixpro.ingest.base import IntegrationConfig, PayloadError, SignatureError
from vixpro.ingest.netdata import ADAPTER

SOURCE = "netdata"

# What each stored fixture must give: (status, severity, title, host hints, source URL prefix).
EXPECTED = {
    "alert_critical.json": (
        Status.FIRING,
        Severity.CRITICAL,
        "Critical: btrfs allocated space on node db-02.example.net is at 97%",
        ("db-02.example.net",),
        "https://app.netdata.cloud/alerts/redirect?alertId=5e2b",
    ),
    "alert_clear.json": (
        Status.RESOLVED,
        Severity.INFO,
        "Cleared: btrfs allocated space on node db-02.example.net is back to 71%",
        ("db-02.example.net",),
        "https://app.netdata.cloud/alerts/redirect?alertId=8c0d",
    ),
    "alert_warning_older_fields.json": (
        Status.FIRING,
        Severity.WARNING,
        "Warning: 10min_cpu_usage on web-1 is 86.4%",
        (),
        "https://app.netdata.cloud/alerts/redirect?alertId=0b6f",
    ),
    "reachability_unreachable.json": (
        Status.FIRING,
        Severity.CRITICAL,
        "web-3.example.net is unreachable",
        ("web-3.example.net",),
        "https://app.netdata.cloud/spaces/acme-production/nodes/",
    ),
    "reachability_reachable.json": (
        Status.RESOLVED,
        Severity.INFO,
        "web-3.example.net is reachable",
        ("web-3.example.net",),
        "https://app.netdata.cloud/spaces/acme-production/nodes/",
    ),
    "test_notification.json": (
        Status.FIRING,
        Severity.INFO,
        "Netdata Cloud test notification, verification token 2b633082-34ec-4ec3-946c-5e81076c39af",
        (),
        None,
    ),
}


def test_every_fixture_has_expectations() -> None:
    assert set(fixture_names(SOURCE)) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_parses_to_expected_alert(name: str) -> None:
    status, severity, title, hints, url = EXPECTED[name]
    parsed = parse_fixture(ADAPTER, SOURCE, name)
    assert len(parsed.alerts) == 1
    alert = parsed.alerts[0]
    assert (alert.status, alert.severity, alert.title, alert.host_hints) == (
        status,
        severity,
        title,
        hints,
    )
    assert alert.source == SOURCE
    assert alert.raw == json.loads(fixture_bytes(SOURCE, name))
    if url is None:
        assert alert.source_url is None
    else:
        assert alert.source_url is not None and alert.source_url.startswith(url)


def test_alert_details_are_kept() -> None:
    alert = parse_fixture(ADAPTER, SOURCE, "alert_critical.json").alerts[0]
    assert alert.labels["chart"] == "btrfs_fs.disk"
    assert alert.labels["rooms"] == "All nodes, Databases"
    assert alert.annotations["additional_active_warning_alerts"] == "4"
    assert alert.description == "Percentage of allocated BTRFS physical disk space"
    assert (
        alert.starts_at is not None and alert.starts_at.isoformat() == "2024-05-14T09:21:07+00:00"
    )
    older = parse_fixture(ADAPTER, SOURCE, "alert_warning_older_fields.json").alerts[0]
    assert older.labels["alert"] == "10min_cpu_usage"
    assert older.annotations["additional_active_warning_alerts"] == "2"


def test_cleared_alert_resolves_the_same_fingerprint() -> None:
    fired = parse_fixture(ADAPTER, SOURCE, "alert_critical.json").alerts[0]
    cleared = parse_fixture(ADAPTER, SOURCE, "alert_clear.json").alerts[0]
    assert fired.fingerprint == cleared.fingerprint
    assert cleared.ends_at is not None


def test_reachability_resolves_the_same_fingerprint() -> None:
    down = parse_fixture(ADAPTER, SOURCE, "reachability_unreachable.json").alerts[0]
    up = parse_fixture(ADAPTER, SOURCE, "reachability_reachable.json").alerts[0]
    assert down.fingerprint == up.fingerprint


def test_different_alerts_have_different_fingerprints() -> None:
    prints = {
        parse_fixture(ADAPTER, SOURCE, name).alerts[0].fingerprint
        for name in (
            "alert_critical.json",
            "alert_warning_older_fields.json",
            "reachability_unreachable.json",
            "test_notification.json",
        )
    }
    assert len(prints) == 4
    other_host = json.loads(fixture_bytes(SOURCE, "alert_critical.json"))
    other_host["host"] = "db-03.example.net"
    alert = ADAPTER.parse(request(json.dumps(other_host).encode()), IntegrationConfig()).alerts[0]
    assert alert.fingerprint not in prints


SECRET = "s3cret-token"


@pytest.mark.parametrize(
    "header",
    [f"Bearer {SECRET}", "Basic " + base64.b64encode(f"netdata:{SECRET}".encode()).decode()],
)
def test_configured_secret_accepts_bearer_or_basic(header: str) -> None:
    body = fixture_bytes(SOURCE, "alert_critical.json")
    config = IntegrationConfig(signing_secret=SECRET)
    parsed = ADAPTER.parse(request(body, {"Authorization": header}), config)
    assert parsed.alerts[0].severity is Severity.CRITICAL


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "the Authorization header is missing"),
        ({"Authorization": "Bearer wrong"}, "do not match"),
        ({"Authorization": "Basic !!!"}, "malformed"),
        ({"Authorization": "Token " + SECRET}, "Bearer or Basic"),
    ],
)
def test_configured_secret_refuses_missing_or_wrong(headers: dict[str, str], reason: str) -> None:
    body = fixture_bytes(SOURCE, "alert_critical.json")
    with pytest.raises(SignatureError, match=re.escape(reason)):
        ADAPTER.parse(request(body, headers), IntegrationConfig(signing_secret=SECRET))


def test_without_secret_unauthenticated_requests_are_accepted() -> None:
    parsed = ADAPTER.parse(request(fixture_bytes(SOURCE, "alert_clear.json")), IntegrationConfig())
    assert parsed.alerts[0].status is Status.RESOLVED


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (b"{not json", "not valid JSON"),
        (b"[]", "expected a JSON object"),
        (b'{"severity": "warning"}', "'alert' is required"),
        (b'{"alert": 5, "severity": "warning"}', "'alert' must be a string"),
        (b'{"alert": "x"}', "'severity' is required"),
        (b'{"alert": "x", "severity": "bad"}', "'severity' must be 'critical', 'warning'"),
        (b'{"alert": "x", "severity": "clear", "date": "soon"}', "'date' is not an ISO 8601"),
        (
            b'{"alert": "x", "severity": "clear", "additional_active_critical_alerts": "many"}',
            "'additional_active_critical_alerts' must be an integer",
        ),
        (b'{"status": {"reachable": false}}', "'host' is required"),
        (b'{"host": "a", "status": {"reachable": "no"}}', "'status.reachable' must be"),
        (b'{"host": "a", "status": {}}', "'status.reachable' is required"),
        (b'{"token": 7}', "'token' must be a string"),
        (
            '{"alert": "x", "severity": "clear", "date": "\u00b2"}'.encode(),
            "'date' is not an ISO 8601 time",
        ),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_bad_payload_is_refused_with_reason(body: bytes, reason: str) -> None:
    with pytest.raises(PayloadError, match=re.escape(reason)):
        ADAPTER.parse(request(body), IntegrationConfig())


def test_sample_is_accepted() -> None:
    parsed = ADAPTER.parse(request(ADAPTER.sample()), IntegrationConfig())
    alert = parsed.alerts[0]
    assert alert.labels["vixpro_test"] == "true"
    assert alert.host_hints == ("web-1.example",)
