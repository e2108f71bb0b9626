from __future__ import annotations

import hashlib
import hmac
import json
import re

import pytest

from tests.ingest.fixtures import fixture_bytes, fixture_names, parse_fixture, request
from vixpro.core.alerts import Severity, Status
from vixpro.ingest.base import IntegrationConfig, PayloadError, SignatureError
from vixpro.ingest.sentry import ADAPTER

SOURCE = "sentry"
SECRET = "sentry-client-secret-0123456789"

# What each stored fixture must give: (the Sentry-Hook-Resource header Sentry sends with it, or
# None for the legacy plugin; alerts; first alert's status, severity, title, host hints,
# acknowledged).
EXPECTED: dict[str, tuple[str | None, int, Status, Severity, str, tuple[str, ...], bool]] = {
    "issue_created.json": (
        "issue",
        1,
        Status.FIRING,
        Severity.WARNING,
        "ReferenceError: blooopy is not defined",
        (),
        False,
    ),
    "issue_assigned.json": (
        "issue",
        1,
        Status.FIRING,
        Severity.CRITICAL,
        "ReferenceError: blooopy is not defined",
        (),
        True,
    ),
    "issue_resolved.json": (
        "issue",
        1,
        Status.RESOLVED,
        Severity.WARNING,
        "ReferenceError: blooopy is not defined",
        (),
        False,
    ),
    "event_alert_triggered.json": (
        "event_alert",
        1,
        Status.FIRING,
        Severity.WARNING,
        "ReferenceError: heck is not defined",
        ("null.jsbin.com",),
        False,
    ),
    "event_alert_backend.json": (
        "event_alert",
        1,
        Status.FIRING,
        Severity.CRITICAL,
        "OperationalError: could not connect to server: Connection refused",
        ("api-3.prod.example.com", "api.example.com"),
        False,
    ),
    "metric_alert_critical.json": (
        "metric_alert",
        1,
        Status.FIRING,
        Severity.CRITICAL,
        "Too many errors",
        (),
        False,
    ),
    "metric_alert_resolved.json": (
        "metric_alert",
        1,
        Status.RESOLVED,
        Severity.WARNING,
        "Too many errors",
        (),
        False,
    ),
    "legacy_plugin.json": (
        None,
        1,
        Status.FIRING,
        Severity.WARNING,
        "This is an example Python exception",
        ("example.com",),
        False,
    ),
    "installation_created.json": ("installation", 0, Status.FIRING, Severity.INFO, "", (), False),
}


def _parse(body: bytes, resource: str | None = None, secret: str | None = None) -> list:  # type: ignore[type-arg]
    headers = {"Sentry-Hook-Resource": resource} if resource else {}
    parsed = ADAPTER.parse(request(body, headers), IntegrationConfig(signing_secret=secret))
    return list(parsed.alerts)


def test_every_fixture_has_expectations() -> None:
    assert set(fixture_names(SOURCE)) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_parses_to_expected_alerts(name: str) -> None:
    resource, count, status, severity, title, hints, acknowledged = EXPECTED[name]
    alerts = _parse(fixture_bytes(SOURCE, name), resource)
    assert len(alerts) == count
    if not count:
        return
    first = alerts[0]
    assert (first.status, first.severity, first.title, first.host_hints) == (
        status,
        severity,
        title,
        hints,
    )
    assert first.acknowledged is acknowledged
    assert first.source == SOURCE
    assert first.raw == json.loads(fixture_bytes(SOURCE, name))
    assert (first.ends_at is not None) == (status is Status.RESOLVED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_resource_is_inferred_without_the_header(name: str) -> None:
    with_header = _parse(fixture_bytes(SOURCE, name), EXPECTED[name][0])
    inferred = parse_fixture(ADAPTER, SOURCE, name).alerts
    assert [a.fingerprint for a in inferred] == [a.fingerprint for a in with_header]
    assert [a.status for a in inferred] == [a.status for a in with_header]


def test_issue_fingerprint_is_stable_across_created_assigned_and_resolved() -> None:
    prints = {
        _parse(fixture_bytes(SOURCE, name))[0].fingerprint
        for name in ("issue_created.json", "issue_assigned.json", "issue_resolved.json")
    }
    assert len(prints) == 1


def test_issue_alert_and_issue_webhook_share_the_issue_fingerprint() -> None:
    event = json.loads(fixture_bytes(SOURCE, "event_alert_triggered.json"))
    issue = json.loads(fixture_bytes(SOURCE, "issue_resolved.json"))
    issue["data"]["issue"]["id"] = event["data"]["event"]["issue_id"]
    fired = _parse(json.dumps(event).encode(), "event_alert")[0]
    resolved = _parse(json.dumps(issue).encode(), "issue")[0]
    assert fired.fingerprint == resolved.fingerprint
    assert resolved.status is Status.RESOLVED


def test_metric_alert_fingerprint_is_stable_and_per_rule() -> None:
    critical = _parse(fixture_bytes(SOURCE, "metric_alert_critical.json"))[0]
    resolved = _parse(fixture_bytes(SOURCE, "metric_alert_resolved.json"))[0]
    assert critical.fingerprint == resolved.fingerprint
    other = json.loads(fixture_bytes(SOURCE, "metric_alert_critical.json"))
    other["data"]["metric_alert"]["alert_rule"]["id"] = "8"
    assert _parse(json.dumps(other).encode())[0].fingerprint != critical.fingerprint


def test_different_issues_have_different_fingerprints() -> None:
    one = _parse(fixture_bytes(SOURCE, "event_alert_triggered.json"))[0]
    two = _parse(fixture_bytes(SOURCE, "event_alert_backend.json"))[0]
    assert one.fingerprint != two.fingerprint


@pytest.mark.parametrize(
    ("action", "status"),
    [
        ("created", Status.FIRING),
        ("unresolved", Status.FIRING),
        ("resolved", Status.RESOLVED),
        ("archived", Status.RESOLVED),
        ("ignored", Status.RESOLVED),
    ],
)
def test_issue_actions_map_to_status(action: str, status: Status) -> None:
    body = json.loads(fixture_bytes(SOURCE, "issue_created.json"))
    body["action"] = action
    assert _parse(json.dumps(body).encode(), "issue")[0].status is status


def test_links_labels_and_description() -> None:
    resolved = _parse(fixture_bytes(SOURCE, "issue_resolved.json"))[0]
    assert resolved.source_url == "https://sentry.io/organizations/test-org/issues/1170820242/"
    assert resolved.labels["short_id"] == "FRONT-END-9"
    assert "Events: 7" in resolved.description
    metric = _parse(fixture_bytes(SOURCE, "metric_alert_critical.json"))[0]
    assert metric.source_url == "https://sentry.io/organizations/baz/alerts/1/"
    assert metric.description.startswith("Critical: Too many errors")
    legacy = _parse(fixture_bytes(SOURCE, "legacy_plugin.json"))[0]
    assert legacy.source_url == "https://sentry.io/alertaio/alerta5/issues/541485531/"
    assert legacy.labels["issue_id"] == "541485531"


def test_metric_alert_query_names_a_host() -> None:
    body = json.loads(fixture_bytes(SOURCE, "metric_alert_critical.json"))
    body["data"]["metric_alert"]["alert_rule"]["query"] = "level:error server_name:db-2.internal"
    assert _parse(json.dumps(body).encode())[0].host_hints == ("db-2.internal",)


def test_other_resources_are_accepted_without_alerts() -> None:
    assert _parse(b'{"action": "created", "data": {"comment": {}}}', "comment") == []


def _sign(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_signed_request_is_accepted() -> None:
    body = fixture_bytes(SOURCE, "issue_created.json")
    headers = {"Sentry-Hook-Resource": "issue", "Sentry-Hook-Signature": _sign(body)}
    parsed = ADAPTER.parse(request(body, headers), IntegrationConfig(signing_secret=SECRET))
    assert len(parsed.alerts) == 1


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        (None, "Sentry-Hook-Signature header is missing"),
        ("0" * 64, "does not match"),
        (_sign(b"{}", "another-secret"), "does not match"),
    ],
)
def test_bad_signature_is_refused(signature: str | None, reason: str) -> None:
    body = fixture_bytes(SOURCE, "issue_created.json")
    headers = {"Sentry-Hook-Signature": signature} if signature else {}
    with pytest.raises(SignatureError, match=re.escape(reason)):
        ADAPTER.parse(request(body, headers), IntegrationConfig(signing_secret=SECRET))


def test_signature_covers_the_exact_body() -> None:
    body = fixture_bytes(SOURCE, "issue_created.json")
    tampered = body.replace(b"blooopy", b"harmless")
    headers = {"Sentry-Hook-Signature": _sign(body)}
    with pytest.raises(SignatureError):
        ADAPTER.parse(request(tampered, headers), IntegrationConfig(signing_secret=SECRET))


@pytest.mark.parametrize(
    ("body", "resource", "reason"),
    [
        (b"", None, "empty"),
        (b"{not json", None, "not valid JSON"),
        (b"[]", None, "expected a JSON object"),
        (b"{}", None, "'data' is required"),
        (b'{"data": {"something": {}}}', None, "'data' holds none of"),
        (b'{"action": "created"}', "issue", "'data' is required"),
        (b'{"action": "created", "data": {}}', "issue", "'data.issue' is required"),
        (b'{"action": "created", "data": {"issue": []}}', "issue", "'data.issue' must be"),
        (b'{"action": "created", "data": {"issue": {}}}', "issue", "'data.issue.id' is required"),
        (
            b'{"action": "created", "data": {"issue": {"id": [1]}}}',
            "issue",
            "'data.issue.id' must be a string or an integer",
        ),
        (
            b'{"action": "odd", "data": {"issue": {"id": "1"}}}',
            "issue",
            "'action' 'odd' is not an issue action",
        ),
        (
            b'{"action": "created", "data": {"issue": {"id": "1", "firstSeen": "soon"}}}',
            "issue",
            "'data.issue.firstSeen' is not an ISO 8601 time",
        ),
        (
            b'{"action": "created", "data": {"issue": {"id": "1", "project": "x"}}}',
            "issue",
            "'data.issue.project' must be an object",
        ),
        (b'{"action": "triggered", "data": {}}', "event_alert", "'data.event' is required"),
        (
            b'{"action": "triggered", "data": {"event": {"datetime": {}}}}',
            "event_alert",
            "'data.event.datetime' must be a time string",
        ),
        (
            b'{"action": "odd", "data": {"metric_alert": {}}}',
            "metric_alert",
            "'action' must be 'critical', 'warning' or 'resolved'",
        ),
        (
            b'{"action": "critical", "data": {"metric_alert": {"alert_rule": {}}}}',
            "metric_alert",
            "'data.metric_alert.alert_rule.id' is required",
        ),
        (b'{"project": "p", "id": null}', None, "'id' (the Sentry issue id) is required"),
        (b'{"project": "p", "id": "1", "event": 3}', None, "'event' must be an object"),
    ],
)
def test_bad_payload_is_refused_with_reason(body: bytes, resource: str | None, reason: str) -> None:
    with pytest.raises(PayloadError, match=re.escape(reason)):
        _parse(body, resource)


def test_sample_is_accepted() -> None:
    alerts = _parse(ADAPTER.sample(), "event_alert")
    assert alerts[0].labels["vixpro_test"] == "true"
    assert alerts[0].host_hints == ("web-1.example",)
    assert alerts[0].starts_at is not None
