"""Webhooks in, incidents out: durable accept, dedup, grouping, lifecycle, bad input."""

from __future__ import annotations

import json
import uuid

import psycopg

from tests.conftest import owner_dsn
from tests.incidents.helpers import am_alert, am_body, enrol_server, new_org, path_of, post
from tests.ingest.fixtures import fixture_bytes


async def test_alertmanager_fixture_becomes_an_incident(client, factory) -> None:
    org = await new_org(factory, client)
    integration = await org.integration()
    assert integration["webhook_url"].startswith("http://testserver/api/v1/webhooks/vxw_")
    response = await post(
        client, integration["webhook_url"], fixture_bytes("alertmanager", "probe_failure.json")
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["accepted"] == 1 and len(body["incident_ids"]) == 1
    incidents = await org.incidents()
    assert len(incidents) == 1
    incident = incidents[0]
    assert incident["title"] == "BlackBox Probe Failure: https://server.example.org"
    assert incident["severity"] == "critical" and incident["state"] == "open"
    assert incident["first_alert_received_at"] <= incident["created_at"]
    detail = await org.get(f"/incidents/{incident['id']}")
    assert detail["alerts"][0]["labels"]["job"] == "http_checks"
    assert detail["alerts"][0]["source_url"].startswith("http://prometheus.example.org:9090/")
    assert detail["timeline"][0]["kind"] == "opened"
    alert = await org.get(f"/alerts/{detail['alerts'][0]['id']}")
    assert alert["raw"]["labels"]["alertname"] == "ProbeFailure"


async def test_a_group_of_hundreds_is_one_request_and_every_alert_is_stored(
    client, factory, db_urls
) -> None:
    org = await new_org(factory, client)
    integration = await org.integration()
    response = await post(
        client, integration["webhook_url"], fixture_bytes("alertmanager", "grouped_truncated.json")
    )
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 250 and response.json()["truncated"] == 17
    with psycopg.connect(owner_dsn(db_urls)) as conn:
        count = conn.execute(
            "SELECT count(*) FROM alerts WHERE org_id = %s", (org.info.org_id,)
        ).fetchone()
    assert count is not None and count[0] == 250
    listed = await org.get("/integrations/" + integration["id"])
    assert listed["alerts_received"] == 250


async def test_same_fingerprint_firing_again_updates_the_alert(client, factory) -> None:
    org = await new_org(factory, client)
    url = (await org.integration())["webhook_url"]
    for _ in range(3):
        assert (
            await post(client, url, am_body(am_alert("DiskFull", "db-9:9100")))
        ).status_code == 202
    incidents = await org.incidents()
    assert len(incidents) == 1
    detail = await org.get(f"/incidents/{incidents[0]['id']}")
    assert len(detail["alerts"]) == 1 and detail["alerts"][0]["count"] == 3


async def test_resolving_every_alert_resolves_the_incident_and_refiring_reopens_it(
    client, factory
) -> None:
    org = await new_org(factory, client)
    url = (await org.integration())["webhook_url"]
    await post(client, url, am_body(am_alert("A", "h1"), am_alert("A", "h2")))
    assert len(await org.incidents()) == 2
    await post(client, url, am_body(am_alert("A", "h1", status="resolved")))
    states = {i["id"]: i["state"] for i in await org.incidents()}
    resolved = [i for i, s in states.items() if s == "resolved"]
    assert len(resolved) == 1
    # Flapping: fired again within the group window, the same incident reopens.
    await post(client, url, am_body(am_alert("A", "h1")))
    incidents = await org.incidents()
    assert len(incidents) == 2
    again = next(i for i in incidents if i["id"] == resolved[0])
    assert again["state"] == "open" and again["reopened"] == 1
    detail = await org.get(f"/incidents/{again['id']}")
    assert "reopened" in [e["kind"] for e in detail["timeline"]]


async def test_auto_resolve_can_be_turned_off(client, factory) -> None:
    org = await new_org(factory, client)
    response = await client.patch(
        "/api/v1/incident-settings", json={"auto_resolve": False}, headers=org.headers
    )
    assert response.status_code == 200 and response.json()["auto_resolve"] is False
    url = (await org.integration())["webhook_url"]
    await post(client, url, am_body(am_alert("B", "h1")))
    await post(client, url, am_body(am_alert("B", "h1", status="resolved")))
    [incident] = await org.incidents()
    assert incident["state"] == "open" and incident["open_alerts"] == 0


async def test_alerts_from_one_server_group_into_one_incident(client, factory, state) -> None:
    org = await new_org(factory, client)
    server_id = await enrol_server(state, org.info, "web-1.example.com", ["10.0.0.7"])
    url = (await org.integration())["webhook_url"]
    await post(client, url, am_body(am_alert("HighCPU", "web-1:9100")))
    await post(client, url, am_body(am_alert("HighLoad", "10.0.0.7:9100", severity="critical")))
    await post(client, url, am_body(am_alert("Other", "elsewhere:9100")))
    incidents = await org.incidents()
    assert len(incidents) == 2
    grouped = next(i for i in incidents if i["server_id"] == str(server_id))
    assert grouped["alert_count"] == 2 and grouped["severity"] == "critical"
    unmatched = next(i for i in incidents if i["server_id"] is None)
    assert unmatched["title"] == "Other on elsewhere:9100"
    filtered = await org.incidents(server_id=str(server_id))
    assert [i["id"] for i in filtered] == [grouped["id"]]


async def test_unknown_token_is_404_and_bad_payload_is_422_and_kept(client, factory) -> None:
    org = await new_org(factory, client)
    url = (await org.integration())["webhook_url"]
    missing = await client.post("/api/v1/webhooks/vxw_nope", content=b"{}")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    bad = await post(client, url, b'{"alerts": [{"status": "firing"}]}')
    assert bad.status_code == 422
    assert "'alerts[0].labels' is required" in bad.json()["detail"]
    kept = await org.get("/rejected-payloads")
    assert kept["items"][0]["reason"] == bad.json()["detail"]
    assert kept["items"][0]["body"] == '{"alerts": [{"status": "firing"}]}'
    assert kept["items"][0]["id"] == bad.json()["rejected_id"]
    assert "authorization" not in kept["items"][0]["headers"]


async def test_body_over_one_mebibyte_is_413(client, factory) -> None:
    org = await new_org(factory, client)
    url = (await org.integration())["webhook_url"]
    response = await post(client, url, b"{" + b" " * (1024 * 1024 + 10) + b"}")
    assert response.status_code == 413


async def test_nul_characters_are_stored_not_refused(client, factory) -> None:
    org = await new_org(factory, client)
    url = (await org.integration())["webhook_url"]
    alert = am_alert("Nul\u0000Name", "h\u00001")
    alert["annotations"]["description"] = "bad \u0000 byte"
    response = await post(client, url, am_body(alert))
    assert response.status_code == 202, response.text


async def test_rotating_the_token_retires_the_old_url(client, factory) -> None:
    org = await new_org(factory, client)
    integration = await org.integration()
    old = integration["webhook_url"]
    assert (await post(client, old, am_body(am_alert("R", "h")))).status_code == 202
    rotated = await client.post(
        f"/api/v1/integrations/{integration['id']}/rotate", headers=org.headers
    )
    assert rotated.status_code == 200
    new = rotated.json()["webhook_url"]
    assert new != old
    assert (await post(client, old, am_body(am_alert("R", "h")))).status_code == 404
    assert (await post(client, new, am_body(am_alert("R", "h")))).status_code == 202


async def test_disabled_integration_refuses_alerts(client, factory) -> None:
    org = await new_org(factory, client)
    integration = await org.integration()
    response = await client.patch(
        f"/api/v1/integrations/{integration['id']}", json={"enabled": False}, headers=org.headers
    )
    assert response.status_code == 200
    assert (
        await post(client, integration["webhook_url"], am_body(am_alert("D", "h")))
    ).status_code == 403


async def test_send_test_alert_makes_a_sample_incident(client, factory) -> None:
    org = await new_org(factory, client)
    integration = await org.integration()
    response = await client.post(
        f"/api/v1/integrations/{integration['id']}/test", headers=org.headers
    )
    assert response.status_code == 200, response.text
    [incident_id] = response.json()["incident_ids"]
    detail = await org.get(f"/incidents/{incident_id}")
    assert detail["alerts"][0]["labels"]["vixpro_test"] == "true"


async def test_integration_secrets_are_write_only(client, factory) -> None:
    org = await new_org(factory, client)
    integration = await org.integration(signing_secret="s3cret-s3cret-s3cret")
    assert integration["has_signing_secret"] is True
    assert "s3cret" not in json.dumps(integration)
    listed = await org.get("/integrations")
    assert "s3cret" not in json.dumps(listed)


async def test_unknown_source_is_refused_with_the_choices(client, factory) -> None:
    org = await new_org(factory, client)
    response = await client.post(
        "/api/v1/integrations", json={"source": "nagios9", "name": "x"}, headers=org.headers
    )
    assert response.status_code == 422
    assert "alertmanager" in response.json()["detail"]


async def test_another_orgs_incident_is_not_found(client, factory) -> None:
    one = await new_org(factory, client)
    two = await new_org(factory, client)
    url = (await one.integration())["webhook_url"]
    await post(client, url, am_body(am_alert("Mine", "h")))
    [incident] = await one.incidents()
    response = await client.get(f"/api/v1/incidents/{incident['id']}", headers=two.headers)
    assert response.status_code == 404
    assert await two.incidents() == []
    assert uuid.UUID(incident["id"])
    assert path_of(url).startswith("/api/v1/webhooks/")


async def test_pagerduty_sender_can_resolve_with_the_dedup_key_it_was_given(
    client, factory
) -> None:
    org = await new_org(factory, client)
    url = (await org.integration("pagerduty"))["webhook_url"]
    trigger = {
        "routing_key": "R0123456789abcdef0123456789abcdef",
        "event_action": "trigger",
        "payload": {"summary": "Disk full on db-1", "source": "db-1", "severity": "critical"},
    }
    answer = await post(client, url, json.dumps(trigger).encode())
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "success"
    dedup_key = answer.json()["dedup_key"]
    assert dedup_key
    ack = {
        "routing_key": trigger["routing_key"],
        "event_action": "acknowledge",
        "dedup_key": dedup_key,
    }
    assert (await post(client, url, json.dumps(ack).encode())).status_code == 202
    [incident] = await org.incidents()
    assert incident["state"] == "acknowledged"
    resolve = {
        "routing_key": trigger["routing_key"],
        "event_action": "resolve",
        "dedup_key": dedup_key,
    }
    assert (await post(client, url, json.dumps(resolve).encode())).status_code == 202
    [incident] = await org.incidents()
    assert incident["state"] == "resolved"


async def test_every_source_sample_goes_through_the_webhook(client, factory) -> None:
    from vixpro.ingest.registry import ADAPTERS

    org = await new_org(factory, client)
    for source, adapter in ADAPTERS.items():
        url = (await org.integration(source))["webhook_url"]
        headers = {"x-amz-sns-message-type": "Notification"} if source == "cloudwatch_sns" else {}
        response = await post(client, url, adapter.sample(), **headers)
        assert response.status_code == 202, (source, response.text)
        assert response.json()["accepted"] >= 1, source


async def test_the_fast_path_and_the_documented_route_answer_alike(client, factory, state) -> None:
    """The shortcut middleware serves webhooks; the FastAPI route documents the same handler."""
    from vixpro.web.app import create_app

    paths = create_app(state).openapi()["paths"]
    assert "/api/v1/webhooks/{token}" in paths
    org = await new_org(factory, client)
    url = (await org.integration())["webhook_url"]

    async def chunks():
        yield b'{"alerts": ['
        yield b"]}"

    streamed = await client.post(
        path_of(url), content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 202 and streamed.json()["accepted"] == 0
    wrong = await client.post(path_of(url) + "/extra", content=b"{}")
    assert wrong.status_code in (404, 405)


async def test_servers_enrolled_or_renamed_after_alerts_arrived_are_matched(
    client, factory, state
) -> None:
    # The writer keeps each organisation's server index between transactions: it must notice
    # a server enrolled, or a server's hostname changing, since the index was built.
    org = await new_org(factory, client)
    url = (await org.integration())["webhook_url"]
    await post(client, url, am_body(am_alert("Before", "db-1:9100")))
    server_id = await enrol_server(state, org.info, "db-1.example.com", [])
    await post(client, url, am_body(am_alert("After", "db-1:9100")))
    with psycopg.connect(owner_dsn(state.db.urls)) as conn:
        conn.execute(
            'UPDATE servers SET facts = facts || \'{"hostname": "db-2.example.com"}\' '
            "WHERE id = %s",
            (server_id,),
        )
    await post(client, url, am_body(am_alert("Renamed", "db-2:9100")))
    by_title = {i["title"]: i for i in await org.incidents()}
    assert set(by_title) == {"Before on db-1:9100", "After on db-1:9100"}
    assert by_title["Before on db-1:9100"]["server_id"] is None
    # The renamed host's alert joined the server's incident: it was matched to the server.
    assert by_title["After on db-1:9100"]["server_id"] == str(server_id)
    assert by_title["After on db-1:9100"]["alert_count"] == 2


def _transactions(metrics: str) -> dict[str, float]:
    prefix = "vixpro_ingest_transactions_total{mode="
    return {
        line[len(prefix) + 1 : line.index('"}')]: float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith(prefix)
    }


async def test_metrics_count_ingest_transactions_by_how_they_ran(client, factory) -> None:
    before = _transactions((await client.get("/metrics")).text)
    assert set(before) == {"overlapped", "alone", "sent_back"}
    org = await new_org(factory, client)
    url = (await org.integration())["webhook_url"]
    for i in range(5):
        response = await post(client, url, am_body(am_alert(f"metric-{i}", "db-1:9100")))
        assert response.status_code == 202, response.text
    after = _transactions((await client.get("/metrics")).text)
    # Each accepted request's transaction is counted once, however it ran; the first ran
    # alone (the organisation's lease is asked for then, in the background).
    ran = sum(after[mode] - before[mode] for mode in ("overlapped", "alone"))
    assert ran == 5
    assert after["alone"] > before["alone"]
