from __future__ import annotations

import json
import re

import pytest

from tests.ingest.fixtures import fixture_names, parse_fixture, request
from vixpro.core.alerts import Severity, Status
from vixpro.ingest.alertmanager import ADAPTER
from vixpro.ingest.base import IntegrationConfig, PayloadError

SOURCE = "alertmanager"

# What each stored fixture must give: (alerts, truncated, first alert's status, severity,
# title, host hints).
EXPECTED = {
    "probe_failure.json": (
        1,
        0,
        Status.FIRING,
        Severity.CRITICAL,
        "BlackBox Probe Failure: https://server.example.org",
        ("server.example.org",),
    ),
    "resolved_no_severity.json": (1, 0, Status.RESOLVED, Severity.WARNING, "Test", ("localhost",)),
    "grouped_truncated.json": (
        250,
        17,
        Status.FIRING,
        Severity.WARNING,
        "Disk almost full on node-000",
        ("node-000",),
    ),
}


def test_every_fixture_has_expectations() -> None:
    assert set(fixture_names(SOURCE)) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_parses_to_expected_alerts(name: str) -> None:
    count, truncated, status, severity, title, hints = EXPECTED[name]
    parsed = parse_fixture(ADAPTER, SOURCE, name)
    assert len(parsed.alerts) == count
    assert parsed.truncated == truncated
    first = parsed.alerts[0]
    assert (first.status, first.severity, first.title, first.host_hints) == (
        status,
        severity,
        title,
        hints,
    )
    assert first.source == SOURCE
    assert first.raw["labels"] == first.labels


def test_grouped_alerts_have_distinct_fingerprints() -> None:
    parsed = parse_fixture(ADAPTER, SOURCE, "grouped_truncated.json")
    assert len({alert.fingerprint for alert in parsed.alerts}) == 250


def test_fingerprint_is_stable_across_firing_and_resolved() -> None:
    firing = json.loads(ADAPTER.sample())
    resolved = json.loads(ADAPTER.sample())
    resolved["alerts"][0]["status"] = "resolved"
    first = ADAPTER.parse(request(json.dumps(firing).encode()), IntegrationConfig()).alerts[0]
    second = ADAPTER.parse(request(json.dumps(resolved).encode()), IntegrationConfig()).alerts[0]
    assert first.fingerprint == second.fingerprint
    assert second.status is Status.RESOLVED


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (b"{not json", "not valid JSON"),
        (b"[]", "expected a JSON object"),
        (b'{"version": "4"}', "'alerts' is required"),
        (b'{"version": "3", "alerts": []}', "unsupported Alertmanager webhook version"),
        (b'{"alerts": [{"status": "firing"}]}', "'alerts[0].labels' is required"),
        (b'{"alerts": [{"status": "odd", "labels": {}}]}', "'alerts[0].status' must be"),
        (
            b'{"alerts": [{"status": "firing", "labels": {}, "startsAt": "yesterday"}]}',
            "'alerts[0].startsAt' is not an ISO 8601 time",
        ),
    ],
)
def test_bad_payload_is_refused_with_reason(body: bytes, reason: str) -> None:
    with pytest.raises(PayloadError, match=re.escape(reason)):
        ADAPTER.parse(request(body), IntegrationConfig())


def test_sample_is_accepted() -> None:
    parsed = ADAPTER.parse(request(ADAPTER.sample()), IntegrationConfig())
    assert parsed.alerts[0].labels["vixpro_test"] == "true"
