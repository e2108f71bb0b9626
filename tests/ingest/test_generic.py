from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from typing import Any

import pytest

from tests.ingest.fixtures import fixture_bytes, fixture_names, parse_fixture, request
from vixpro.core.alerts import NormalizedAlert, Severity, Status
from vixpro.ingest.base import IntegrationConfig, PayloadError, SignatureError
from vixpro.ingest.generic import ADAPTER, sample_for, validate_options

SOURCE = "generic"
SECRET = "generic-signing-secret-0123456789"

UPTIME_MAPPING: dict[str, Any] = {
    "fields": {
        "title": "monitor.name",
        "status": "alert.type",
        "fingerprint": ["monitor.id"],
        "description": "alert.details",
        "host": "monitor.url",
        "url": "monitor.url",
        "starts_at": "alert.datetime",
    },
    "status_map": {"1": "firing", "2": "resolved"},
}
ENVELOPE_MAPPING: dict[str, Any] = {
    "alerts": "results.items",
    "fields": {
        "title": "check.label",
        "status": "$.state",
        "severity": "priority",
        "fingerprint": ["$.source", "check.uid"],
        "host": ["targets.0.address", "targets.1.address"],
        "url": "$.dashboard",
        "labels": "meta",
        "starts_at": "first_seen",
    },
    "severity_map": {"1": "critical", "2": "critical", "3": "warning", "4": "info", "5": "info"},
}

# Each stored fixture: (the integration's options, alerts, first alert's status, severity,
# title, host hints, source URL).
EXPECTED: dict[
    str, tuple[dict[str, Any], int, Status, Severity, str, tuple[str, ...], str | None]
] = {
    "default_firing.json": (
        {},
        1,
        Status.FIRING,
        Severity.CRITICAL,
        "Disk almost full on web-1",
        ("web-1",),
        "https://monitoring.example.com/checks/disk-web-1-root",
    ),
    "default_resolved.json": (
        {},
        1,
        Status.RESOLVED,
        Severity.CRITICAL,
        "Disk almost full on web-1",
        ("web-1",),
        "https://monitoring.example.com/checks/disk-web-1-root",
    ),
    "default_minimal_no_id.json": (
        {},
        1,
        Status.FIRING,
        Severity.WARNING,
        "Nightly backup failed",
        ("db-1.example.com",),
        None,
    ),
    "top_level_list.json": (
        {},
        2,
        Status.FIRING,
        Severity.WARNING,
        "Queue backlog above 10000",
        ("worker-3",),
        None,
    ),
    "uptime_monitor_mapped.json": (
        UPTIME_MAPPING,
        1,
        Status.FIRING,
        Severity.WARNING,
        "Shop front page",
        ("shop.example.com",),
        "https://shop.example.com/",
    ),
    "envelope_mapped.json": (
        ENVELOPE_MAPPING,
        2,
        Status.FIRING,
        Severity.CRITICAL,
        "p99 latency above 800 ms in fra",
        ("10.20.0.11", "10.20.0.12"),
        "https://edge.example.net/d/latency",
    ),
}


def _parse(
    body: bytes | object, options: dict[str, Any] | None = None
) -> tuple[NormalizedAlert, ...]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return ADAPTER.parse(request(data), IntegrationConfig(options=options or {})).alerts


def _fixture(name: str) -> Any:
    return json.loads(fixture_bytes(SOURCE, name))


def test_every_fixture_has_expectations() -> None:
    assert set(fixture_names(SOURCE)) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_parses_to_expected_alerts(name: str) -> None:
    options, count, status, severity, title, hints, url = EXPECTED[name]
    validate_options(options)
    parsed = parse_fixture(ADAPTER, SOURCE, name, IntegrationConfig(options=options))
    assert len(parsed.alerts) == count
    first = parsed.alerts[0]
    assert (first.status, first.severity, first.title, first.host_hints, first.source_url) == (
        status,
        severity,
        title,
        hints,
        url,
    )
    assert first.source == SOURCE
    assert len({alert.fingerprint for alert in parsed.alerts}) == count


def test_firing_and_resolved_share_a_fingerprint() -> None:
    firing = _parse(fixture_bytes(SOURCE, "default_firing.json"))[0]
    resolved = _parse(fixture_bytes(SOURCE, "default_resolved.json"))[0]
    assert firing.fingerprint == resolved.fingerprint
    assert resolved.ends_at is not None and firing.ends_at is None
    mapped = _fixture("uptime_monitor_mapped.json")
    mapped["alert"]["type"] = 2
    mapped["alert"]["details"] = "Up again after 4 minutes"
    up = _parse(mapped, UPTIME_MAPPING)[0]
    down = _parse(fixture_bytes(SOURCE, "uptime_monitor_mapped.json"), UPTIME_MAPPING)[0]
    assert (up.status, up.fingerprint) == (Status.RESOLVED, down.fingerprint)


def test_without_an_id_the_title_and_hosts_identify_the_alert() -> None:
    body = _fixture("default_minimal_no_id.json")
    first = _parse(body)[0]
    body["message"] = "pg_dump exited with status 2"
    body["status"] = "ok"
    again = _parse(body)[0]
    assert (again.fingerprint, again.status) == (first.fingerprint, Status.RESOLVED)
    body["hostname"] = "db-2.example.com"
    assert _parse(body)[0].fingerprint != first.fingerprint


def test_defaults_read_common_names() -> None:
    alerts = _parse(fixture_bytes(SOURCE, "top_level_list.json"))
    assert alerts[0].labels == {"env": "prod", "service": "jobs", "paging": ""}
    assert alerts[1].status is Status.RESOLVED
    assert alerts[0].starts_at is not None and alerts[0].starts_at.year == 2024
    minimal = _parse(fixture_bytes(SOURCE, "default_minimal_no_id.json"))[0]
    assert minimal.description == "pg_dump exited with status 1"


def test_envelope_paths_and_severity_map() -> None:
    alerts = _parse(fixture_bytes(SOURCE, "envelope_mapped.json"), ENVELOPE_MAPPING)
    assert [alert.severity for alert in alerts] == [Severity.CRITICAL, Severity.INFO]
    assert alerts[1].labels == {"region": "ams", "pop": "ams-2"}
    assert alerts[1].host_hints == ("10.30.0.7",)
    assert alerts[0].raw["check"]["uid"] == "lat-fra-1"


def test_status_map_overrides_default_words() -> None:
    body = {"title": "t", "status": "OK"}
    assert _parse(body)[0].status is Status.RESOLVED
    assert _parse(body, {"status_map": {"ok": "firing"}})[0].status is Status.FIRING


def test_structured_description_is_json() -> None:
    alert = _parse({"title": "t", "details": {"cpu": 93}})[0]
    assert json.loads(alert.description) == {"cpu": 93}


@pytest.mark.parametrize(
    ("body", "options", "reason"),
    [
        (b"", {}, "empty"),
        (b"{not json", {}, "not valid JSON"),
        (b'"text"', {}, "expected a JSON object or list, got str"),
        (b"{}", {}, "the body has no title: none of 'title', 'name'"),
        (b"[1]", {}, "item 0 of the body must be an object, got int"),
        (b'{"title": {"a": 1}}', {}, "'title' in the body (fields.title) is an object"),
        (
            b'{"title": "t", "status": "maybe"}',
            {},
            "'status' in the body is 'maybe', which is neither firing nor resolved",
        ),
        (
            b'{"title": "t", "starts_at": "last tuesday"}',
            {},
            "'starts_at' is not an ISO 8601 time",
        ),
        (
            b'{"title": "t", "starts_at": 1e400}',
            {},
            "'starts_at' is not a valid",
        ),
        (b'{"title": "t"}', {"alerts": "items"}, "'items' (the alerts option) is missing"),
        (
            b'{"items": {"title": "t"}}',
            {"alerts": "items"},
            "'items' (the alerts option) must be a list, got dict",
        ),
        (
            b'{"items": [{"title": "t"}, 3]}',
            {"alerts": "items"},
            "'items.1' must be an object, got int",
        ),
        (
            b'{"title": "t"}',
            {"fields": {"fingerprint": ["check.id", "check.name"]}},
            "none of the fingerprint fields ('check.id', 'check.name') is present in the body",
        ),
        (
            b'{"title": "t"}',
            {"fields": {"title": 3}},
            "this integration's field mapping is invalid ('fields.title' must be a non-empty path",
        ),
    ],
)
def test_bad_payload_is_refused_with_reason(
    body: bytes, options: dict[str, Any], reason: str
) -> None:
    with pytest.raises(PayloadError, match=re.escape(reason)):
        _parse(body, options)


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ([], "options must be an object, got list"),
        ({"alert": "items"}, "unknown option 'alert'; the options are: alerts, fields"),
        ({"alerts": ""}, "'alerts' must be a non-empty path string"),
        ({"alerts": "a..b"}, "'alerts' has an empty part in 'a..b'"),
        ({"alerts": "a." * 40 + "b"}, "'alerts' has more than 32 parts"),
        ({"alerts": "a" * 301}, "'alerts' is longer than 300 characters"),
        ({"fields": "title"}, "'fields' must be an object, got str"),
        ({"fields": {"name": "x"}}, "unknown field 'fields.name'; the fields are: title"),
        ({"fields": {"title": ["a", "b"]}}, "'fields.title' must be one path (a string)"),
        ({"fields": {"host": []}}, "'fields.host' must list 1 to 16 paths"),
        ({"fields": {"fingerprint": ["id", 2]}}, "'fields.fingerprint[1]' must be a non-empty"),
        ({"status_map": ["down"]}, "'status_map' must be an object, got list"),
        ({"status_map": {"down": "broken"}}, "'status_map.down' must be one of firing, resolved"),
        ({"status_map": {"": "firing"}}, "'status_map' keys must be words of 1 to 100"),
        ({"severity_map": {"P1": "high"}}, "'severity_map.P1' must be one of critical, warning"),
        (
            {"severity_map": {str(n): "info" for n in range(201)}},
            "'severity_map' has more than 200 entries",
        ),
    ],
)
def test_validate_options_names_the_problem(options: object, reason: str) -> None:
    with pytest.raises(PayloadError, match=re.escape(reason)):
        validate_options(options)


def test_validate_options_accepts_good_mappings() -> None:
    for options in ({}, None, UPTIME_MAPPING, ENVELOPE_MAPPING):
        validate_options(options)
    with pytest.raises(ValueError):  # what the API layer catches
        validate_options({"bogus": 1})


def _signed(body: bytes, stamp: str, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"X-VixPro-Timestamp": stamp, "X-VixPro-Signature": f"sha256={digest}"}


def test_signed_request_is_accepted() -> None:
    body = fixture_bytes(SOURCE, "default_firing.json")
    headers = _signed(body, str(int(time.time())))
    parsed = ADAPTER.parse(request(body, headers), IntegrationConfig(signing_secret=SECRET))
    assert len(parsed.alerts) == 1


def test_unsigned_request_is_accepted_without_a_secret() -> None:
    assert _parse(fixture_bytes(SOURCE, "default_firing.json"))


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda h: h.pop("X-VixPro-Timestamp"), "X-VixPro-Timestamp header must be a Unix"),
        (lambda h: h.pop("X-VixPro-Signature"), "X-VixPro-Signature header is missing"),
        (
            lambda h: h.update({"X-VixPro-Timestamp": str(int(time.time()) - 600)}),
            "more than 300 s from now",
        ),
        (
            lambda h: h.update({"X-VixPro-Timestamp": str(int(time.time()) + 1)}),
            "does not match",
        ),
        (lambda h: h.update({"X-VixPro-Signature": "sha256=" + "0" * 64}), "does not match"),
        (lambda h: h.update({"X-VixPro-Timestamp": "9" * 5000}), "X-VixPro-Timestamp"),
    ],
)
def test_bad_signature_is_refused(mutate: Any, reason: str) -> None:
    body = fixture_bytes(SOURCE, "default_firing.json")
    headers = _signed(body, str(int(time.time())))
    mutate(headers)
    with pytest.raises(SignatureError, match=re.escape(reason)):
        ADAPTER.parse(request(body, headers), IntegrationConfig(signing_secret=SECRET))


def test_signature_covers_the_body() -> None:
    body = fixture_bytes(SOURCE, "default_firing.json")
    headers = _signed(body, str(int(time.time())))
    with pytest.raises(SignatureError):
        ADAPTER.parse(
            request(body.replace(b"critical", b"info"), headers),
            IntegrationConfig(signing_secret=SECRET),
        )


def test_sample_is_accepted() -> None:
    alert = _parse(ADAPTER.sample())[0]
    assert alert.labels["vixpro_test"] == "true"
    assert alert.host_hints == ("web-1.example",)
    assert alert.starts_at is not None


@pytest.mark.parametrize("options", [UPTIME_MAPPING, ENVELOPE_MAPPING])
def test_sample_follows_the_mapping(options: dict[str, Any]) -> None:
    alerts = _parse(sample_for(options), options)
    assert alerts[0].title == "VixPro test alert: CPU above 90% on web-1"
    assert alerts[0].status is Status.FIRING
