from __future__ import annotations

import hashlib
import hmac
import json
import re
import time

import pytest

from tests.ingest.fixtures import fixture_bytes, fixture_names, parse_fixture, request
from vixpro.core.alerts import Severity, Status
from vixpro.ingest.base import IntegrationConfig, PayloadError, SignatureError
from vixpro.ingest.grafana import ADAPTER

SOURCE = "grafana"
SECRET = "grafana-shared-secret"

# What each stored fixture must give: (alerts, truncated, first alert's status, severity,
# title, host hints, source_url).
EXPECTED = {
    "documented_two_firing.json": (
        2,
        0,
        Status.FIRING,
        Severity.WARNING,
        "This alert was triggered for zone us-1",
        (),
        "https://play.grafana.org/alerting/1afz29v7z/edit",
    ),
    "resolved_memory.json": (
        1,
        0,
        Status.RESOLVED,
        Severity.WARNING,
        "This alert was triggered for zone us-1",
        (),
        "https://play.grafana.org/alerting/1afz29v7z/edit",
    ),
    "panel_linked_host.json": (
        1,
        2,
        Status.FIRING,
        Severity.CRITICAL,
        "Disk on db-2 is 97% full",
        ("db-2.internal",),
        "https://grafana.example.com/d/rYdddlPWk?orgId=3&viewPanel=152",
    ),
}


def sign(body: bytes, secret: str = SECRET, timestamp: str | None = None) -> str:
    message = f"{timestamp}:".encode() + body if timestamp is not None else body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def test_every_fixture_has_expectations() -> None:
    assert set(fixture_names(SOURCE)) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_parses_to_expected_alerts(name: str) -> None:
    count, truncated, status, severity, title, hints, url = EXPECTED[name]
    parsed = parse_fixture(ADAPTER, SOURCE, name)
    assert len(parsed.alerts) == count
    assert parsed.truncated == truncated
    first = parsed.alerts[0]
    assert (first.status, first.severity, first.title, first.host_hints, first.source_url) == (
        status,
        severity,
        title,
        hints,
        url,
    )
    assert first.source == SOURCE
    assert first.raw["labels"] == first.labels


def test_values_are_shown_in_the_description() -> None:
    first = parse_fixture(ADAPTER, SOURCE, "panel_linked_host.json").alerts[0]
    assert first.description.startswith("/var/lib/postgresql has less than 3% free space left.")
    assert first.description.endswith("Values: A=97.12, B=1")


def test_resolved_alert_keeps_its_fingerprint_and_gets_an_end() -> None:
    firing = parse_fixture(ADAPTER, SOURCE, "documented_two_firing.json").alerts[0]
    resolved = parse_fixture(ADAPTER, SOURCE, "resolved_memory.json").alerts[0]
    assert firing.fingerprint == resolved.fingerprint
    assert resolved.ends_at is not None and firing.ends_at is None


def test_different_alerts_have_different_fingerprints() -> None:
    alerts = parse_fixture(ADAPTER, SOURCE, "documented_two_firing.json").alerts
    assert alerts[0].fingerprint != alerts[1].fingerprint


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (b"{not json", "not valid JSON"),
        (b'"text"', "expected a JSON object"),
        (b'{"version": "1"}', "'alerts' is required"),
        (b'{"version": "2", "alerts": []}', "unsupported Grafana webhook version"),
        (b'{"ruleId": 1, "evalMatches": []}', "legacy Grafana alerting payload"),
        (b'{"alerts": [7]}', "'alerts[0]' must be an object"),
        (b'{"alerts": [{"status": "firing"}]}', "'alerts[0].labels' is required"),
        (b'{"alerts": [{"status": "odd", "labels": {}}]}', "'alerts[0].status' must be"),
        (
            b'{"alerts": [{"status": "firing", "labels": {}, "panelURL": 5}]}',
            "'alerts[0].panelURL' must be a string",
        ),
        (
            b'{"alerts": [{"status": "firing", "labels": {}, "values": []}]}',
            "'alerts[0].values' must be an object",
        ),
        (
            b'{"alerts": [{"status": "firing", "labels": {}, "startsAt": "soon"}]}',
            "'alerts[0].startsAt' is not an ISO 8601 time",
        ),
        (
            '{"alerts": [{"status": "firing", "labels": {}, "startsAt": "²"}]}'.encode(),
            "'alerts[0].startsAt' is not an ISO 8601 time",
        ),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_bad_payload_is_refused_with_reason(body: bytes, reason: str) -> None:
    with pytest.raises(PayloadError, match=re.escape(reason)):
        ADAPTER.parse(request(body), IntegrationConfig())


def test_sample_is_accepted() -> None:
    parsed = ADAPTER.parse(request(ADAPTER.sample()), IntegrationConfig())
    assert parsed.alerts[0].labels["vixpro_test"] == "true"
    assert parsed.alerts[0].source_url == "https://grafana.example/d/servers?viewPanel=2"


# ---- HMAC signatures ------------------------------------------------------------------


def test_unsigned_request_is_accepted_without_a_secret() -> None:
    parsed = parse_fixture(ADAPTER, SOURCE, "panel_linked_host.json")
    assert len(parsed.alerts) == 1


def test_signed_body_is_accepted() -> None:
    body = fixture_bytes(SOURCE, "panel_linked_host.json")
    headers = {"X-Grafana-Alerting-Signature": sign(body)}
    parsed = ADAPTER.parse(request(body, headers), IntegrationConfig(signing_secret=SECRET))
    assert len(parsed.alerts) == 1


def test_signature_with_timestamp_header_is_accepted() -> None:
    body = ADAPTER.sample()
    stamp = str(int(time.time()))
    headers = {
        "X-Grafana-Alerting-Signature": sign(body, timestamp=stamp),
        "X-Grafana-Alerting-Timestamp": stamp,
    }
    parsed = ADAPTER.parse(request(body, headers), IntegrationConfig(signing_secret=SECRET))
    assert len(parsed.alerts) == 1


def test_custom_header_names_come_from_options() -> None:
    body = ADAPTER.sample()
    stamp = str(int(time.time()))
    headers = {"X-Hook-Sig": sign(body, timestamp=stamp), "X-Hook-Time": stamp}
    config = IntegrationConfig(
        signing_secret=SECRET,
        options={"signature_header": "X-Hook-Sig", "timestamp_header": "X-Hook-Time"},
    )
    assert len(ADAPTER.parse(request(body, headers), config).alerts) == 1


def test_configured_timestamp_header_is_required() -> None:
    body = ADAPTER.sample()
    config = IntegrationConfig(signing_secret=SECRET, options={"timestamp_header": "X-Hook-Time"})
    headers = {"X-Grafana-Alerting-Signature": sign(body)}
    with pytest.raises(SignatureError, match=re.escape("x-hook-time header must be a Unix")):
        ADAPTER.parse(request(body, headers), config)


def test_stale_timestamp_is_refused() -> None:
    body = ADAPTER.sample()
    stamp = str(int(time.time()) - 3600)
    headers = {
        "X-Grafana-Alerting-Signature": sign(body, timestamp=stamp),
        "X-Grafana-Alerting-Timestamp": stamp,
    }
    with pytest.raises(SignatureError, match=re.escape("more than 300 s from now")):
        ADAPTER.parse(request(body, headers), IntegrationConfig(signing_secret=SECRET))


def test_timestamp_is_part_of_the_signed_message() -> None:
    body = ADAPTER.sample()
    stamp = str(int(time.time()))
    headers = {"X-Grafana-Alerting-Signature": sign(body), "X-Grafana-Alerting-Timestamp": stamp}
    with pytest.raises(SignatureError, match=re.escape("does not match")):
        ADAPTER.parse(request(body, headers), IntegrationConfig(signing_secret=SECRET))


def test_missing_signature_is_refused_when_a_secret_is_set() -> None:
    with pytest.raises(SignatureError, match=re.escape("x-grafana-alerting-signature header")):
        ADAPTER.parse(request(ADAPTER.sample()), IntegrationConfig(signing_secret=SECRET))


def test_wrong_signature_is_refused() -> None:
    body = ADAPTER.sample()
    headers = {"X-Grafana-Alerting-Signature": sign(body, secret="another-secret")}
    with pytest.raises(SignatureError, match=re.escape("does not match")):
        ADAPTER.parse(request(body, headers), IntegrationConfig(signing_secret=SECRET))


def test_tampered_body_is_refused() -> None:
    body = ADAPTER.sample()
    headers = {"X-Grafana-Alerting-Signature": sign(body)}
    tampered = json.dumps({**json.loads(body), "status": "resolved"}).encode()
    with pytest.raises(SignatureError):
        ADAPTER.parse(request(tampered, headers), IntegrationConfig(signing_secret=SECRET))
