from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.ingest.fixtures import fixture_names, parse_fixture, request
from vixpro.core.alerts import NormalizedAlert, Severity, Status
from vixpro.ingest.base import IntegrationConfig, PayloadError, SignatureError
from vixpro.ingest.datadog import ADAPTER

SOURCE = "datadog"
DOCS = Path(__file__).parents[2] / "docs" / "integrations" / "datadog.md"

# What each stored fixture must give: (status, severity, title, host hints, source_url).
EXPECTED = {
    "template_triggered.json": (
        Status.FIRING,
        Severity.CRITICAL,
        "Load is high on my-host (host:my-host)",
        ("my-host",),
        "https://app.datadoghq.com/event/jump_to?event_id=7098162374583291234",
    ),
    "template_recovered.json": (
        Status.RESOLVED,
        Severity.CRITICAL,
        "Load is high on my-host (host:my-host)",
        ("my-host",),
        "https://app.datadoghq.com/event/jump_to?event_id=7098162374583299876",
    ),
    "template_rewarn_multi_scope.json": (
        Status.FIRING,
        Severity.WARNING,
        "Disk usage high (host:db-3.prod.example.com, availability-zone:us-east-1a)",
        ("db-3.prod.example.com",),
        "https://app.datadoghq.com/event/jump_to?event_id=7098199000000001111",
    ),
    "default_payload.json": (
        Status.FIRING,
        Severity.WARNING,
        "System load is high (host:web-2)",
        ("web-2",),
        None,
    ),
    "camelcase_with_additions.json": (
        Status.FIRING,
        Severity.WARNING,
        "Redis is not reporting (host:cache-1)",
        ("cache-1",),
        "https://app.datadoghq.com/event/jump_to?event_id=7098170000000000099",
    ),
}


def parse(
    document: Mapping[str, object], config: IntegrationConfig | None = None
) -> NormalizedAlert:
    body = json.dumps(document).encode()
    return ADAPTER.parse(request(body), config or IntegrationConfig()).alerts[0]


def test_every_fixture_has_expectations() -> None:
    assert set(fixture_names(SOURCE)) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_parses_to_expected_alert(name: str) -> None:
    status, severity, title, hints, url = EXPECTED[name]
    parsed = parse_fixture(ADAPTER, SOURCE, name)
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
    assert alert.raw  # the user's payload, kept as sent


def test_trigger_and_recovery_share_a_fingerprint() -> None:
    triggered = parse_fixture(ADAPTER, SOURCE, "template_triggered.json").alerts[0]
    recovered = parse_fixture(ADAPTER, SOURCE, "template_recovered.json").alerts[0]
    assert triggered.fingerprint == recovered.fingerprint
    assert triggered.starts_at == datetime(2024, 3, 4, 12, 0, tzinfo=UTC)
    assert recovered.ends_at == datetime(2024, 3, 4, 12, 15, tzinfo=UTC)


def test_scopes_of_one_monitor_are_different_alerts() -> None:
    document = json.loads(ADAPTER.sample())
    first = parse(document)
    second = parse({**document, "alert_scope": "host:web-2"})
    assert first.fingerprint != second.fingerprint
    reordered = parse({**document, "alert_scope": "env:test,host:web-1"})
    same_reordered = parse({**document, "alert_scope": "host:web-1, env:test"})
    assert reordered.fingerprint == same_reordered.fingerprint


def test_default_payload_resolves_by_its_title() -> None:
    document = json.loads(parse_fixture_text("default_payload.json"))
    firing = parse(document)
    recovered = parse({**document, "title": "[Recovered on {host:web-2}] System load is high"})
    assert recovered.status is Status.RESOLVED
    assert firing.fingerprint == recovered.fingerprint


def parse_fixture_text(name: str) -> str:
    return (Path(__file__).parent / "fixtures" / SOURCE / name).read_text()


def test_message_markers_are_removed_and_tags_become_labels() -> None:
    alert = parse_fixture(ADAPTER, SOURCE, "template_triggered.json").alerts[0]
    assert alert.description.startswith("Load has been above the threshold")
    assert "%%%" not in alert.description
    assert alert.labels["role"] == "computing-node"
    assert alert.labels["alert_id"] == "1234"
    assert alert.annotations["snapshot"].startswith("https://p.datadoghq.com/")


def test_unresolved_variables_are_absent() -> None:
    alert = parse_fixture(ADAPTER, SOURCE, "template_recovered.json").alerts[0]
    assert "snapshot" not in alert.annotations
    camel = parse_fixture(ADAPTER, SOURCE, "camelcase_with_additions.json").alerts[0]
    assert "alert_priority" not in camel.labels
    assert camel.labels["alert_id"] == "4321"


@pytest.mark.parametrize(
    ("priority", "transition", "alert_type", "severity"),
    [
        ("P1", "Triggered", "error", Severity.CRITICAL),
        ("P2", "Triggered", "error", Severity.WARNING),
        ("P3", "Triggered", "error", Severity.WARNING),
        ("P4", "Triggered", "error", Severity.INFO),
        ("P5", "Re-Triggered", "error", Severity.INFO),
        ("P1", "Warn", "warning", Severity.WARNING),
        ("", "Triggered", "error", Severity.CRITICAL),
        ("", "Renotify", "error", Severity.CRITICAL),
        ("", "Warn", "warning", Severity.WARNING),
        ("", "No Data", "", Severity.WARNING),
        ("", "", "info", Severity.INFO),
        ("", "", "", Severity.WARNING),
    ],
)
def test_severity_mapping(
    priority: str, transition: str, alert_type: str, severity: Severity
) -> None:
    document = {
        **json.loads(ADAPTER.sample()),
        "alert_priority": priority,
        "alert_transition": transition,
        "alert_type": alert_type,
    }
    assert parse(document).severity is severity


@pytest.mark.parametrize(
    ("transition", "status"),
    [
        ("Recovered", Status.RESOLVED),
        ("Triggered", Status.FIRING),
        ("Re-Triggered", Status.FIRING),
        ("Warn", Status.FIRING),
        ("No Data", Status.FIRING),
        ("Renotify", Status.FIRING),
        ("Null", Status.FIRING),
        ("Something new", Status.FIRING),
    ],
)
def test_status_mapping(transition: str, status: Status) -> None:
    assert parse({**json.loads(ADAPTER.sample()), "alert_transition": transition}).status is status


def test_form_encoded_body_is_read() -> None:
    document = json.loads(ADAPTER.sample())
    body = urlencode(document).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    alert = ADAPTER.parse(request(body, headers), IntegrationConfig()).alerts[0]
    assert alert.labels["alert_id"] == "1234567"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (b"{}", "'alert_id' is required"),
        (b'{"alert_id": "$ALERT_ID", "alert_title": "$ALERT_TITLE"}', "'alert_id' is required"),
        (b'{"alert_id": {"id": 1}}', "'alert_id' must be a string, got dict"),
        (b'{"alertTitle": ["x"]}', "'alertTitle' must be a string, got list"),
        (b'{"tags": [1, {}], "alert_id": "1"}', "'tags[]' must be a string, got dict"),
        (b'{"alert_id": "1", "date": "yesterday"}', "'date' is not an ISO 8601 time"),
        (b'{"alert_id": "1", "datePosix": "noon"}', "'datePosix' is not an ISO 8601 time"),
        (b'{"alert_id": "1", "date": "\xc2\xb2"}', "'date' is not an ISO 8601 time"),
    ],
)
def test_bad_payload_is_refused_with_reason(body: bytes, reason: str) -> None:
    with pytest.raises(PayloadError, match=re.escape(reason)):
        ADAPTER.parse(request(body), IntegrationConfig())


def test_bad_form_body_is_refused() -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    with pytest.raises(PayloadError, match=re.escape("form-encoded body is empty")):
        ADAPTER.parse(request(b"&&", headers), IntegrationConfig())
    with pytest.raises(PayloadError, match=re.escape("not UTF-8")):
        ADAPTER.parse(request(b"a=\xff", headers), IntegrationConfig())
    many = "&".join(f"k{i}=v" for i in range(2000)).encode()
    with pytest.raises(PayloadError, match=re.escape("could not be read")):
        ADAPTER.parse(request(many, headers), IntegrationConfig())


def test_sample_is_accepted() -> None:
    alert = ADAPTER.parse(request(ADAPTER.sample()), IntegrationConfig()).alerts[0]
    assert alert.labels["vixpro_test"] == "true"
    assert alert.starts_at is not None


def test_documented_template_is_valid_json_and_parses_once_filled() -> None:
    text = DOCS.read_text()
    template = text.split("```json\n", 1)[1].split("```", 1)[0]
    document = json.loads(template)
    assert {value for value in document.values() if isinstance(value, str)} >= {
        "$ALERT_ID",
        "$ALERT_TRANSITION",
        "$ALERT_PRIORITY",
        "$HOSTNAME",
        "$EVENT_TITLE",
        "$EVENT_MSG",
        "$LINK",
        "$TAGS",
        "$ALERT_CYCLE_KEY",
        "$DATE",
    }
    with pytest.raises(PayloadError, match=re.escape("'alert_id' is required")):
        parse(document)  # nothing filled in: every variable is unresolved
    filled = {key: f"{key}-value" for key in document}
    filled.update(alert_id="42", alert_transition="Triggered", date="1709553600000")
    assert parse(filled).labels["alert_id"] == "42"


# ---- the shared-secret header ----------------------------------------------------------


def test_no_secret_accepts_requests_without_the_header() -> None:
    assert parse(json.loads(ADAPTER.sample())).status is Status.FIRING


def test_secret_header_is_accepted() -> None:
    headers = {"X-VixPro-Secret": "s3cret"}
    parsed = ADAPTER.parse(
        request(ADAPTER.sample(), headers), IntegrationConfig(signing_secret="s3cret")
    )
    assert len(parsed.alerts) == 1


def test_secret_header_name_comes_from_options() -> None:
    config = IntegrationConfig(signing_secret="s3cret", options={"secret_header": "X-Token"})
    parsed = ADAPTER.parse(request(ADAPTER.sample(), {"X-Token": "s3cret"}), config)
    assert len(parsed.alerts) == 1


def test_missing_secret_header_is_refused() -> None:
    with pytest.raises(SignatureError, match=re.escape("x-vixpro-secret header is missing")):
        ADAPTER.parse(request(ADAPTER.sample()), IntegrationConfig(signing_secret="s3cret"))


def test_wrong_secret_is_refused() -> None:
    headers = {"X-VixPro-Secret": "guess"}
    with pytest.raises(SignatureError, match=re.escape("does not match")):
        ADAPTER.parse(request(ADAPTER.sample(), headers), IntegrationConfig(signing_secret="s3"))
