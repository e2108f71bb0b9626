from __future__ import annotations

import json
import re

import pytest

from tests.ingest.fixtures import fixture_bytes, fixture_names, parse_fixture, request
from vixpro.core.alerts import Severity, Status
from vixpro.ingest.azure_monitor import ADAPTER
from vixpro.ingest.base import IntegrationConfig, PayloadError

SOURCE = "azure_monitor"

# What each stored fixture must give: (status, severity, title, host hints, has a link).
EXPECTED = {
    "metric_vm_fired.json": (
        Status.FIRING,
        Severity.INFO,
        "WCUS-R2-Gen2 on wcus-r2-gen2",
        ("wcus-r2-gen2",),
        True,
    ),
    "metric_vm_resolved.json": (
        Status.RESOLVED,
        Severity.INFO,
        "WCUS-R2-Gen2 on wcus-r2-gen2",
        ("wcus-r2-gen2",),
        True,
    ),
    "test_action_metric_static.json": (
        Status.FIRING,
        Severity.INFO,
        "test-metricAlertRule on test-storageAccount",
        ("test-storageaccount",),
        True,
    ),
    "test_action_activity_log.json": (
        Status.FIRING,
        Severity.INFO,
        "test-activityLogAlertRule on test-VM",
        ("test-vm",),
        False,
    ),
    "test_action_log_v1_number_of_results.json": (
        Status.FIRING,
        Severity.INFO,
        "test-logAlertRule-v1-numResults on test-computer",
        ("test-computer",),
        True,
    ),
    "test_action_resource_health.json": (
        Status.FIRING,
        Severity.INFO,
        "test-ResourceHealthAlertRule on test-VM",
        ("test-vm",),
        True,
    ),
    "test_action_budget.json": (
        Status.FIRING,
        Severity.WARNING,
        "Budget alert: Test_forcasted_budget",
        (),
        False,
    ),
}


def test_every_fixture_has_expectations() -> None:
    assert set(fixture_names(SOURCE)) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_parses_to_expected_alert(name: str) -> None:
    status, severity, title, hints, has_link = EXPECTED[name]
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
    assert (alert.source_url is not None) is has_link
    assert alert.starts_at is not None


def test_metric_details_are_kept() -> None:
    alert = parse_fixture(ADAPTER, SOURCE, "metric_vm_resolved.json").alerts[0]
    assert alert.description == "Percentage CPU Average GreaterThan 25 (value 7.727)"
    assert alert.labels["monitoring_service"] == "Platform"
    assert alert.labels["Key1"] == "Value1"  # customProperties
    assert alert.ends_at is not None and alert.ends_at.isoformat().startswith("2019-03-22T14:03")
    assert alert.source_url is not None
    assert alert.source_url.startswith("https://portal.azure.com/")
    assert "%2Fproviders%2FMicrosoft.AlertsManagement%2Falerts%2F" in alert.source_url


def test_log_and_health_details_are_summarised() -> None:
    log = parse_fixture(ADAPTER, SOURCE, "test_action_log_v1_number_of_results.json").alerts[0]
    assert "Query: Heartbeat" in log.description
    health = parse_fixture(ADAPTER, SOURCE, "test_action_resource_health.json").alerts[0]
    assert "title: Rebooted by user" in health.description
    assert "title" not in health.labels  # event properties are not labels
    activity = parse_fixture(ADAPTER, SOURCE, "test_action_activity_log.json").alerts[0]
    assert "Caller: user@contoso.com" in activity.description


def test_fired_and_resolved_share_a_fingerprint() -> None:
    fired = parse_fixture(ADAPTER, SOURCE, "metric_vm_fired.json").alerts[0]
    resolved = parse_fixture(ADAPTER, SOURCE, "metric_vm_resolved.json").alerts[0]
    assert fired.fingerprint == resolved.fingerprint
    assert fired.ends_at is None


def test_different_alerts_have_different_fingerprints() -> None:
    prints = {
        parse_fixture(ADAPTER, SOURCE, name).alerts[0].fingerprint
        for name in (
            "metric_vm_fired.json",
            "test_action_metric_static.json",
            "test_action_activity_log.json",
            "test_action_budget.json",
        )
    }
    assert len(prints) == 4


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        ("Sev0", Severity.CRITICAL),
        ("Sev1", Severity.CRITICAL),
        ("Sev2", Severity.WARNING),
        ("Sev3", Severity.INFO),
        ("Sev4", Severity.INFO),
        ("2", Severity.WARNING),
    ],
)
def test_severity_mapping(severity: str, expected: Severity) -> None:
    document = json.loads(ADAPTER.sample())
    document["data"]["essentials"]["severity"] = severity
    alert = ADAPTER.parse(request(json.dumps(document).encode()), IntegrationConfig()).alerts[0]
    assert alert.severity is expected


def test_log_search_dimension_names_the_computer() -> None:
    document = json.loads(ADAPTER.sample())
    document["data"]["essentials"]["configurationItems"] = []
    document["data"]["essentials"]["alertTargetIDs"] = [
        "/subscriptions/x/resourcegroups/rg/providers/microsoft.operationalinsights/workspaces/w"
    ]
    document["data"]["alertContext"]["condition"]["allOf"][0]["dimensions"] = [
        {"name": "Computer", "value": "db-7.internal"},
        {"name": "ResourceId", "value": "a0a0a0a0-bbbb-cccc-dddd-e1e1e1e1e1e1"},
        {
            "name": "_ResourceId",
            "value": "/subscriptions/x/resourceGroups/rg/providers/"
            "Microsoft.HybridCompute/machines/arc-box-2",
        },
    ]
    alert = ADAPTER.parse(request(json.dumps(document).encode()), IntegrationConfig()).alerts[0]
    assert alert.host_hints == ("db-7.internal", "arc-box-2")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (b"{not json", "not valid JSON"),
        (b"[]", "expected a JSON object"),
        (
            b'{"schemaId": "AzureMonitorMetricAlert", "data": {}}',
            "schemaId 'AzureMonitorMetricAlert'; VixPro reads only Azure Monitor's common alert",
        ),
        (b'{"WorkspaceId": "x", "AlertRuleName": "y"}', "no schemaId"),
        (b'{"schemaId": "azureMonitorCommonAlertSchema"}', "'data' is required"),
        (b'{"schemaId": "azureMonitorCommonAlertSchema", "data": []}', "'data' must be an object"),
        (
            b'{"schemaId": "azureMonitorCommonAlertSchema", "data": {}}',
            "'data.essentials' is required",
        ),
        (
            b'{"schemaId": "azureMonitorCommonAlertSchema", "data": {"essentials": {}}}',
            "'data.essentials.monitorCondition' is required",
        ),
        (
            b'{"schemaId": "azureMonitorCommonAlertSchema", "data": {"essentials": '
            b'{"monitorCondition": "Exploded"}}}',
            "'data.essentials.monitorCondition' must be 'Fired' or 'Resolved'",
        ),
        (
            b'{"schemaId": "azureMonitorCommonAlertSchema", "data": {"essentials": '
            b'{"monitorCondition": "Fired", "severity": "Sev9"}}}',
            "'data.essentials.severity' must be Sev0 to Sev4",
        ),
        (
            b'{"schemaId": "azureMonitorCommonAlertSchema", "data": {"essentials": '
            b'{"monitorCondition": "Fired", "alertTargetIDs": "vm"}}}',
            "'data.essentials.alertTargetIDs' must be a list",
        ),
        (
            b'{"schemaId": "azureMonitorCommonAlertSchema", "data": {"essentials": '
            b'{"monitorCondition": "Fired", "configurationItems": [1]}}}',
            "'data.essentials.configurationItems[0]' must be a string",
        ),
        (
            b'{"schemaId": "azureMonitorCommonAlertSchema", "data": {"essentials": '
            b'{"monitorCondition": "Fired", "firedDateTime": "noon"}}}',
            "'data.essentials.firedDateTime' is not an ISO 8601 time",
        ),
        (
            b'{"schemaId": "azureMonitorCommonAlertSchema", "data": {"essentials": '
            b'{"monitorCondition": "Fired"}, "alertContext": 5}}',
            "'data.alertContext' must be an object",
        ),
        (
            '{"schemaId": "azureMonitorCommonAlertSchema", "data": {"essentials": '
            '{"monitorCondition": "Fired", "firedDateTime": "\u00b2"}}}'.encode(),
            "'data.essentials.firedDateTime' is not an ISO 8601 time",
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
    assert alert.host_hints == ("web-1",)
    assert alert.severity is Severity.WARNING
