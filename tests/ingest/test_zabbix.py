from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.ingest.fixtures import fixture_names, parse_fixture, request
from vixpro.core.alerts import NormalizedAlert, Severity, Status
from vixpro.ingest.base import IntegrationConfig, PayloadError, SignatureError
from vixpro.ingest.zabbix import ADAPTER

SOURCE = "zabbix"
DOCS = Path(__file__).parents[2] / "docs" / "integrations" / "zabbix.md"

# What each stored fixture must give: (status, severity, acknowledged, title, host hints,
# source_url).
EXPECTED = {
    "problem_high_cpu.json": (
        Status.FIRING,
        Severity.CRITICAL,
        False,
        "High CPU utilization (over 90% for 5m)",
        ("app-server-01.prod.example.com", "app-server-01", "10.20.0.15"),
        "https://zabbix.example.com/tr_events.php?triggerid=23745&eventid=1873240",
    ),
    "recovery_high_cpu.json": (
        Status.RESOLVED,
        Severity.CRITICAL,
        False,
        "High CPU utilization (over 90% for 5m)",
        ("app-server-01.prod.example.com", "app-server-01", "10.20.0.15"),
        "https://zabbix.example.com/tr_events.php?triggerid=23745&eventid=1873240",
    ),
    "update_acknowledged.json": (
        Status.FIRING,
        Severity.CRITICAL,
        True,
        "High CPU utilization (over 90% for 5m)",
        ("app-server-01.prod.example.com", "app-server-01", "10.20.0.15"),
        "https://zabbix.example.com/tr_events.php?triggerid=23745&eventid=1873240",
    ),
    "unresolved_macros_disaster.json": (
        Status.FIRING,
        Severity.CRITICAL,
        False,
        "Zabbix agent is not available (for 3m)",
        ("db-primary", "db primary", "db-primary.internal"),
        None,
    ),
    "media_type_test.json": (
        Status.FIRING,
        Severity.INFO,
        False,
        "Zabbix media type test",
        (),
        None,
    ),
}


def parse(document: Mapping[str, object]) -> NormalizedAlert:
    body = json.dumps(document).encode()
    return ADAPTER.parse(request(body), IntegrationConfig()).alerts[0]


def sample() -> dict[str, object]:
    document = json.loads(ADAPTER.sample())
    assert isinstance(document, dict)
    return document


def test_every_fixture_has_expectations() -> None:
    assert set(fixture_names(SOURCE)) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_parses_to_expected_alert(name: str) -> None:
    status, severity, acknowledged, title, hints, url = EXPECTED[name]
    parsed = parse_fixture(ADAPTER, SOURCE, name)
    assert len(parsed.alerts) == 1
    alert = parsed.alerts[0]
    assert (
        alert.status,
        alert.severity,
        alert.acknowledged,
        alert.title,
        alert.host_hints,
        alert.source_url,
    ) == (status, severity, acknowledged, title, hints, url)
    assert alert.source == SOURCE
    assert alert.raw


def test_problem_recovery_and_update_share_a_fingerprint() -> None:
    names = ("problem_high_cpu.json", "recovery_high_cpu.json", "update_acknowledged.json")
    alerts = [parse_fixture(ADAPTER, SOURCE, name).alerts[0] for name in names]
    assert len({alert.fingerprint for alert in alerts}) == 1
    problem, recovery, _ = alerts
    assert problem.starts_at == datetime(2024, 4, 8, 9, 57, 3, tzinfo=UTC)
    assert problem.ends_at is None
    assert recovery.ends_at == datetime(2024, 4, 8, 10, 12, 3, tzinfo=UTC)


def test_different_problems_have_different_fingerprints() -> None:
    first = parse(sample())
    second = parse({**sample(), "event_id": "900002"})
    assert first.fingerprint != second.fingerprint


def test_tags_become_labels_and_unresolved_macros_are_absent() -> None:
    problem = parse_fixture(ADAPTER, SOURCE, "problem_high_cpu.json").alerts[0]
    assert problem.labels["component"] == "cpu"
    assert problem.labels["trigger_id"] == "23745"
    assert "recovery_id" not in problem.annotations
    assert problem.description.startswith("CPU utilization is too high.")
    assert "Operational data: Current utilization: 96.2 %" in problem.description
    disaster = parse_fixture(ADAPTER, SOURCE, "unresolved_macros_disaster.json").alerts[0]
    assert disaster.labels["service"] == "db"
    assert "10.20.0.15" not in disaster.host_hints
    assert disaster.starts_at == datetime(2024, 6, 30, 23, 41, 9, tzinfo=UTC)


def test_update_notification_records_the_action() -> None:
    update = parse_fixture(ADAPTER, SOURCE, "update_acknowledged.json").alerts[0]
    assert "Update: acknowledged and commented" in update.description


@pytest.mark.parametrize(
    ("nseverity", "name", "severity"),
    [
        ("0", "Not classified", Severity.INFO),
        ("1", "Information", Severity.INFO),
        ("2", "Warning", Severity.WARNING),
        ("3", "Average", Severity.WARNING),
        ("4", "High", Severity.CRITICAL),
        ("5", "Disaster", Severity.CRITICAL),
        ("{EVENT.NSEVERITY}", "Disaster", Severity.CRITICAL),
        ("{EVENT.NSEVERITY}", "Not classified", Severity.INFO),
        ("5", "Sev-A (renamed)", Severity.CRITICAL),
        ("", "Renamed", Severity.WARNING),
    ],
)
def test_severity_mapping(nseverity: str, name: str, severity: Severity) -> None:
    document = {**sample(), "event_nseverity": nseverity, "event_severity": name}
    assert parse(document).severity is severity


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"event_value": "0"}, Status.RESOLVED),
        ({"event_value": 1}, Status.FIRING),
        ({"event_value": "{EVENT.VALUE}", "event_status": "RESOLVED"}, Status.RESOLVED),
        ({"event_value": "", "event_status": "PROBLEM"}, Status.FIRING),
        ({"event_value": "", "event_status": "", "event_recovery_id": "77"}, Status.RESOLVED),
    ],
)
def test_status_mapping(fields: dict[str, object], status: Status) -> None:
    assert parse({**sample(), **fields}).status is status


def test_camel_case_and_dotted_names_are_read() -> None:
    document = {
        "eventId": "55",
        "EVENT.VALUE": "1",
        "Event_Name": "Disk full",
        "hostName": "files-1",
        "EVENT.NSEVERITY": "5",
    }
    alert = parse(document)
    assert (alert.title, alert.severity, alert.host_hints) == (
        "Disk full",
        Severity.CRITICAL,
        ("files-1",),
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (b"{not json", "not valid JSON"),
        (b"[]", "expected a JSON object"),
        (b'{"event_value": "1"}', "'event_id' is required"),
        (b'{"event_id": "*UNKNOWN*", "event_value": "1"}', "'event_id' is required"),
        (b'{"event_id": "1"}', "'event_value' is required"),
        (b'{"event_id": "1", "event_value": "2"}', "'event_value' must be 1 (problem) or 0"),
        (b'{"event_id": {"a": 1}, "event_value": "1"}', "'event_id' must be a string, got dict"),
        (
            b'{"event_id": "1", "event_value": "1", "event_tags": "[{\\"tag\\": 1}]"}',
            "'event_tags' items must be objects with a 'tag' string",
        ),
        (
            b'{"event_id": "1", "event_value": "1", "event_tags": "[oops"}',
            "'event_tags' is not a JSON list of tags",
        ),
        (
            b'{"event_id": "1", "event_value": "1", "event_timestamp": "soon"}',
            "'event_timestamp' is not an ISO 8601 time",
        ),
        (
            b'{"event_id": "1", "event_value": "1", "event_date": "08/04/2024"}',
            "'event_date' and 'event_time' are not a Zabbix date and time",
        ),
        (
            b'{"event_id": "1", "event_value": "1", "event_timestamp": "\xc2\xb2"}',
            "'event_timestamp' is not an ISO 8601 time",
        ),
    ],
)
def test_bad_payload_is_refused_with_reason(body: bytes, reason: str) -> None:
    with pytest.raises(PayloadError, match=re.escape(reason)):
        ADAPTER.parse(request(body), IntegrationConfig())


def test_sample_is_accepted() -> None:
    alert = ADAPTER.parse(request(ADAPTER.sample()), IntegrationConfig()).alerts[0]
    assert alert.labels["vixpro_test"] == "true"
    assert alert.starts_at is not None and alert.status is Status.FIRING


def documented_parameters() -> dict[str, str]:
    """The media type parameters from the docs page: name → value."""
    rows = re.findall(r"^\| `([A-Za-z_]+)` \| (.+?) \|$", DOCS.read_text(), re.MULTILINE)
    return {name: value.split("`")[1] if "`" in value else value for name, value in rows}


def what_the_script_sends(parameters: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in parameters.items() if k not in ("URL", "secret", "HTTPProxy")}


def test_documented_parameters_cover_the_brief() -> None:
    values = set(documented_parameters().values())
    for macro in (
        "{EVENT.ID}",
        "{EVENT.VALUE}",
        "{EVENT.SEVERITY}",
        "{TRIGGER.SEVERITY}",
        "{HOST.NAME}",
        "{HOST.IP}",
        "{EVENT.NAME}",
        "{TRIGGER.ID}",
        "{EVENT.RECOVERY.ID}",
        "{EVENT.RECOVERY.TIMESTAMP}",
    ):
        assert macro in values


def test_documented_media_type_test_gives_the_test_alert() -> None:
    alert = parse(what_the_script_sends(documented_parameters()))
    assert alert.title == "Zabbix media type test"
    assert alert.labels["vixpro_test"] == "true"


def test_documented_parameters_parse_once_zabbix_fills_them() -> None:
    filled = {
        "{EVENT.ID}": "42",
        "{EVENT.VALUE}": "0",
        "{EVENT.NAME}": "Service down",
        "{EVENT.NSEVERITY}": "5",
        "{EVENT.TIMESTAMP}": "1712570223",
        "{EVENT.RECOVERY.TIMESTAMP}": "1712571123",
        "{HOST.HOST}": "web-9",
        "{TRIGGER.ID}": "7",
        "{EVENT.TAGSJSON}": "[]",
    }
    sent = {k: filled.get(v, v) for k, v in what_the_script_sends(documented_parameters()).items()}
    sent["zabbix_url"] = "https://zabbix.example.com/"
    alert = parse(sent)
    assert (alert.status, alert.severity, alert.host_hints) == (
        Status.RESOLVED,
        Severity.CRITICAL,
        ("web-9",),
    )
    assert alert.source_url == "https://zabbix.example.com/tr_events.php?triggerid=7&eventid=42"


# ---- the shared-secret header ----------------------------------------------------------


def test_no_secret_accepts_requests_without_the_header() -> None:
    assert parse(sample()).status is Status.FIRING


def test_secret_header_is_accepted() -> None:
    parsed = ADAPTER.parse(
        request(ADAPTER.sample(), {"X-VixPro-Secret": "zbx"}),
        IntegrationConfig(signing_secret="zbx"),
    )
    assert len(parsed.alerts) == 1


def test_secret_header_name_comes_from_options() -> None:
    config = IntegrationConfig(signing_secret="zbx", options={"secret_header": "X-Auth"})
    parsed = ADAPTER.parse(request(ADAPTER.sample(), {"X-Auth": "zbx"}), config)
    assert len(parsed.alerts) == 1


def test_missing_secret_header_is_refused() -> None:
    with pytest.raises(SignatureError, match=re.escape("x-vixpro-secret header is missing")):
        ADAPTER.parse(request(ADAPTER.sample()), IntegrationConfig(signing_secret="zbx"))


def test_wrong_secret_is_refused() -> None:
    headers = {"X-VixPro-Secret": "nope"}
    with pytest.raises(SignatureError, match=re.escape("does not match")):
        ADAPTER.parse(request(ADAPTER.sample(), headers), IntegrationConfig(signing_secret="zbx"))
