from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.ingest.fixtures import fixture_bytes, fixture_names, parse_fixture, request
from vixpro.core.alerts import NormalizedAlert, Severity, Status
from vixpro.ingest.base import IntegrationConfig, PayloadError, SignatureError
from vixpro.ingest.uptime_kuma import ADAPTER

SOURCE = "uptime_kuma"

# What each stored fixture must give: (status, severity, title, host hints).
EXPECTED = {
    "http_down.json": (Status.FIRING, Severity.CRITICAL, "Shop is down", ("shop.example.com",)),
    "http_up.json": (Status.RESOLVED, Severity.INFO, "Shop is up", ("shop.example.com",)),
    "ping_down_tagged.json": (
        Status.FIRING,
        Severity.WARNING,
        "db-2 ping is down",
        ("db-2.internal", "10.0.4.12"),
    ),
    "test_message.json": (Status.FIRING, Severity.INFO, "Uptime Kuma test: VixPro Testing", ()),
    "cert_expiry_notice.json": (
        Status.FIRING,
        Severity.WARNING,
        "[Shop][https://shop.example.com/health] Domain certificate shop.example.com"
        " will be expired in 14 days",
        (),
    ),
}


def parse(document: Mapping[str, Any], config: IntegrationConfig | None = None) -> NormalizedAlert:
    body = json.dumps(document).encode()
    return ADAPTER.parse(request(body), config or IntegrationConfig()).alerts[0]


def sample() -> dict[str, Any]:
    document = json.loads(ADAPTER.sample())
    assert isinstance(document, dict)
    return document


def test_every_fixture_has_expectations() -> None:
    assert set(fixture_names(SOURCE)) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_parses_to_expected_alert(name: str) -> None:
    status, severity, title, hints = EXPECTED[name]
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
    assert alert.raw


def test_down_and_up_share_a_fingerprint() -> None:
    down = parse_fixture(ADAPTER, SOURCE, "http_down.json").alerts[0]
    up = parse_fixture(ADAPTER, SOURCE, "http_up.json").alerts[0]
    assert down.fingerprint == up.fingerprint
    assert down.starts_at == datetime(2024, 9, 24, 23, 51, 35, 527000, tzinfo=UTC)
    assert up.ends_at == datetime(2024, 9, 25, 0, 3, 35, 912000, tzinfo=UTC)
    assert "getaddrinfo ENOTFOUND" in down.description
    assert down.labels["monitor_type"] == "http"


def test_different_monitors_have_different_fingerprints() -> None:
    first = parse(sample())
    other = sample()
    other["monitor"]["id"] = 2
    assert parse(other).fingerprint != first.fingerprint


def test_tags_become_labels() -> None:
    alert = parse_fixture(ADAPTER, SOURCE, "ping_down_tagged.json").alerts[0]
    assert alert.labels["severity"] == "warning"
    assert alert.labels["production"] == ""
    assert alert.labels["monitor_id"] == "7"


def test_test_message_is_marked_as_a_test() -> None:
    alert = parse_fixture(ADAPTER, SOURCE, "test_message.json").alerts[0]
    assert alert.labels["vixpro_test"] == "true"


def test_certificate_notices_keep_one_fingerprint_as_days_go_by() -> None:
    notice = json.loads(fixture_bytes(SOURCE, "cert_expiry_notice.json"))
    first = parse(notice)
    later = parse({**notice, "msg": notice["msg"].replace("14 days", "7 days")})
    other = parse({**notice, "msg": notice["msg"].replace("shop.example", "blog.example")})
    assert first.fingerprint == later.fingerprint != other.fingerprint


@pytest.mark.parametrize(
    ("state", "status", "severity", "phrase"),
    [
        (0, Status.FIRING, Severity.CRITICAL, "is down"),
        (1, Status.RESOLVED, Severity.INFO, "is up"),
        (2, Status.FIRING, Severity.WARNING, "is pending"),
        (3, Status.RESOLVED, Severity.INFO, "is in maintenance"),
    ],
)
def test_status_mapping(state: int, status: Status, severity: Severity, phrase: str) -> None:
    document = sample()
    document["heartbeat"]["status"] = state
    alert = parse(document)
    assert (alert.status, alert.severity, alert.title) == (
        status,
        severity,
        f"web-1 HTTPS {phrase}",
    )


def test_base_url_option_gives_a_link_back() -> None:
    config = IntegrationConfig(options={"base_url": "https://status.example.com/"})
    assert parse(sample(), config).source_url == "https://status.example.com/dashboard/1"
    assert parse(sample()).source_url is None


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (b"{not json", "not valid JSON"),
        (b"[]", "expected a JSON object"),
        (b"{}", "'msg' is required"),
        (b'{"heartbeat": null, "monitor": null, "msg": "  "}', "'msg' is empty"),
        (b'{"heartbeat": [], "msg": "x"}', "'heartbeat' must be an object"),
        (b'{"heartbeat": {"status": 0}, "msg": "x"}', "'monitor' is required"),
        (b'{"heartbeat": {"status": 0}, "monitor": {}}', "'monitor.id' is required"),
        (b'{"heartbeat": {}, "monitor": {"id": 1}}', "'heartbeat.status' is required"),
        (b'{"heartbeat": {"status": "0"}, "monitor": {"id": 1}}', "'heartbeat.status' must be"),
        (b'{"heartbeat": {"status": 9}, "monitor": {"id": 1}}', "must be 0 (down), 1 (up)"),
        (b'{"heartbeat": {"status": 0}, "monitor": {"id": true}}', "'monitor.id' must be"),
        (
            b'{"heartbeat": {"status": 0}, "monitor": {"id": 1, "name": 5}}',
            "'monitor.name' must be a string",
        ),
        (
            b'{"heartbeat": {"status": 0}, "monitor": {"id": 1, "tags": [3]}}',
            "'monitor.tags[0]' must be an object",
        ),
        (
            b'{"heartbeat": {"status": 0, "time": "later"}, "monitor": {"id": 1}}',
            "'heartbeat.time' is not an ISO 8601 time",
        ),
        (
            b'{"heartbeat": {"status": 0, "time": "\xc2\xb2"}, "monitor": {"id": 1}}',
            "'heartbeat.time' is not an ISO 8601 time",
        ),
    ],
)
def test_bad_payload_is_refused_with_reason(body: bytes, reason: str) -> None:
    with pytest.raises(PayloadError, match=re.escape(reason)):
        ADAPTER.parse(request(body), IntegrationConfig())


def test_form_data_body_is_refused_with_advice() -> None:
    headers = {"Content-Type": "multipart/form-data; boundary=----x"}
    with pytest.raises(PayloadError, match=re.escape("'Preset - application/json'")):
        ADAPTER.parse(request(b"------x\r\n", headers), IntegrationConfig())


def test_sample_is_accepted() -> None:
    alert = ADAPTER.parse(request(ADAPTER.sample()), IntegrationConfig()).alerts[0]
    assert alert.labels["vixpro_test"] == "true"
    assert alert.starts_at is not None and alert.status is Status.FIRING


# ---- the shared-secret header ----------------------------------------------------------


def test_no_secret_accepts_requests_without_the_header() -> None:
    assert parse(sample()).status is Status.FIRING


def test_secret_header_is_accepted() -> None:
    parsed = ADAPTER.parse(
        request(ADAPTER.sample(), {"X-VixPro-Secret": "kuma"}),
        IntegrationConfig(signing_secret="kuma"),
    )
    assert len(parsed.alerts) == 1


def test_secret_header_name_comes_from_options() -> None:
    config = IntegrationConfig(signing_secret="kuma", options={"secret_header": "Authorization"})
    parsed = ADAPTER.parse(request(ADAPTER.sample(), {"Authorization": "kuma"}), config)
    assert len(parsed.alerts) == 1


def test_missing_secret_header_is_refused() -> None:
    with pytest.raises(SignatureError, match=re.escape("x-vixpro-secret header is missing")):
        ADAPTER.parse(request(ADAPTER.sample()), IntegrationConfig(signing_secret="kuma"))


def test_wrong_secret_is_refused() -> None:
    headers = {"X-VixPro-Secret": "nope"}
    with pytest.raises(SignatureError, match=re.escape("does not match")):
        ADAPTER.parse(request(ADAPTER.sample(), headers), IntegrationConfig(signing_secret="kuma"))
