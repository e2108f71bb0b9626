"""Budgets, storms and maintenance windows against real PostgreSQL, through the webhook."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from tests.conftest import owner_dsn
from tests.incidents.helpers import am_alert, am_body, enrol_server, new_org, post
from vixpro.incidents import handoff, service


async def test_past_the_alert_budget_incidents_are_manual_and_the_org_is_told(
    client, factory, state
) -> None:
    org = await new_org(factory, client)
    await enrol_server(state, org.info, "busy-1")
    await org.settings(alert_budget=2, group_window_s=30)
    url = (await org.integration())["webhook_url"]
    # Three different fingerprints; the group window is short but they arrive together, so
    # the first opens an incident and the next two join it. Resolve it, then a fourth alert
    # opens a new incident: the server is over budget now.
    await post(
        client,
        url,
        am_body(am_alert("One", "busy-1"), am_alert("Two", "busy-1"), am_alert("Three", "busy-1")),
    )
    [first] = await org.incidents()
    assert first["manual_mode"] is False and first["ai_state"] in ("queued", "running", "done")
    await client.post(
        f"/api/v1/incidents/{first['id']}/actions", json={"action": "resolve"}, headers=org.headers
    )
    await post(client, url, am_body(am_alert("Four", "busy-1")))
    incidents = await org.incidents()
    newest = incidents[0]
    assert newest["id"] != first["id"]
    assert newest["manual_mode"] is True and "alert budget (2 per day)" in newest["manual_reason"]
    assert newest["ai_state"] == "ineligible"
    assert (await org.incidents(manual=True))[0]["id"] == newest["id"]
    events = await org.get("/org-events")
    assert [e["kind"] for e in events] == ["budget_exceeded"]
    assert "busy-1 passed its alert budget of 2" in events[0]["detail"]


async def test_budget_can_only_be_lowered(client, factory) -> None:
    org = await new_org(factory, client)
    response = await client.patch(
        "/api/v1/incident-settings", json={"alert_budget": 51}, headers=org.headers
    )
    assert response.status_code == 422
    assert "alert_budget" in response.text


async def test_free_plan_incidents_are_manual_mode(client, factory, state) -> None:
    # The free plan allows one API request an hour: the integration is that one request,
    # and the incident is read through the service.
    org = await new_org(factory, client, plan="free")
    url = (await org.integration())["webhook_url"]
    assert (await post(client, url, am_body(am_alert("Free", "h")))).status_code == 202
    async with state.db.tenant_session(org.info.org_id) as session:
        [incident] = await service.list_incidents(session, service.Filters(), None, 10)
    assert incident.manual_mode is True and incident.ai_state == "ineligible"
    assert "does not include AI alert triage" in (incident.manual_reason or "")


async def test_a_storm_gathers_a_servers_alerts_into_one_held_incident(
    client, factory, state, db_urls
) -> None:
    org = await new_org(factory, client)
    await enrol_server(state, org.info, "stormy")
    await org.settings(storm_threshold=5, group_window_s=30)
    url = (await org.integration())["webhook_url"]
    # Five alerts: one ordinary incident. The sixth makes it more than five in the window.
    await post(client, url, am_body(*[am_alert(f"S{i}", "stormy") for i in range(5)]))
    await post(client, url, am_body(*[am_alert(f"T{i}", "stormy") for i in range(10)]))
    incidents = await org.incidents()
    storm = next(i for i in incidents if i["storm"])
    assert storm["title"] == "Alert storm on stormy"
    assert storm["ai_state"] == "held" and storm["severity"] == "critical"
    assert storm["alert_count"] == 10
    ordinary = [i for i in incidents if not i["storm"]]
    assert len(ordinary) == 1 and ordinary[0]["alert_count"] == 5
    assert [e["kind"] for e in await org.get("/org-events")] == ["storm"]
    # Quiet for longer than the quiet time: the storm ends and one diagnosis is queued.
    with psycopg.connect(owner_dsn(db_urls)) as conn:
        conn.execute(
            "UPDATE storms SET last_alert_at = now() - interval '11 minutes' WHERE org_id = %s",
            (org.info.org_id,),
        )
    async with state.db.system_session("test") as session:
        ended = await handoff.end_quiet_storms(session)
    assert (org.info.org_id, storm["id"]) in [(o, str(i)) for o, i in ended]
    detail = await org.get(f"/incidents/{storm['id']}")
    assert detail["incident"]["ai_state"] == "queued"
    assert "storm_ended" in [e["kind"] for e in detail["timeline"]]


async def test_storms_on_several_servers_begin_and_continue_together(
    client, factory, state, db_urls
) -> None:
    org = await new_org(factory, client)
    for name in ("storm-a", "storm-b"):
        await enrol_server(state, org.info, name)
    await org.settings(storm_threshold=5, group_window_s=30)
    url = (await org.integration())["webhook_url"]

    def alerts(prefix: str, count: int) -> list[dict[str, object]]:
        return [
            am_alert(f"{prefix}{i}-{h}", h) for h in ("storm-a", "storm-b") for i in range(count)
        ]

    # Five from each server: two ordinary incidents. Then two more from each, in one request:
    # both storms begin. Then three more from each, in the next: both go on.
    await post(client, url, am_body(*alerts("U", 5)))
    await post(client, url, am_body(*alerts("V", 2)))
    await post(client, url, am_body(*alerts("W", 3)))
    storms = [i for i in await org.incidents() if i["storm"]]
    assert sorted(i["title"] for i in storms) == [
        "Alert storm on storm-a",
        "Alert storm on storm-b",
    ]
    assert [i["alert_count"] for i in storms] == [5, 5]
    with psycopg.connect(owner_dsn(db_urls)) as conn:
        rows = conn.execute(
            "SELECT alerts, ended_at FROM storms WHERE org_id = %s", (org.info.org_id,)
        ).fetchall()
    assert rows == [(5, None), (5, None)]


async def test_alerts_inside_a_maintenance_window_are_kept_and_open_nothing(
    client, factory, state, db_urls
) -> None:
    org = await new_org(factory, client)
    server_id = await enrol_server(state, org.info, "patching")
    now = datetime.now(UTC)
    response = await client.post(
        "/api/v1/maintenance-windows",
        json={
            "reason": "kernel upgrade",
            "starts_at": (now - timedelta(minutes=1)).isoformat(),
            "ends_at": (now + timedelta(hours=1)).isoformat(),
            "scope": "servers",
            "server_ids": [str(server_id)],
        },
        headers=org.headers,
    )
    assert response.status_code == 201, response.text
    url = (await org.integration())["webhook_url"]
    accepted = await post(
        client, url, am_body(am_alert("Reboot", "patching"), am_alert("Other", "elsewhere"))
    )
    assert accepted.status_code == 202
    assert accepted.json()["suppressed"] == 1
    incidents = await org.incidents()
    assert [i["title"] for i in incidents] == ["Other on elsewhere"]
    with psycopg.connect(owner_dsn(db_urls)) as conn:
        row = conn.execute(
            "SELECT incident_id, suppressed_by FROM alerts WHERE org_id = %s AND title = %s",
            (org.info.org_id, "Reboot on patching"),
        ).fetchone()
    assert row is not None and row[0] is None and str(row[1]) == response.json()["id"]


async def test_maintenance_window_input_is_checked(client, factory) -> None:
    org = await new_org(factory, client)
    now = datetime.now(UTC)
    response = await client.post(
        "/api/v1/maintenance-windows",
        json={
            "reason": "x",
            "starts_at": now.isoformat(),
            "ends_at": (now - timedelta(hours=1)).isoformat(),
            "scope": "all",
        },
        headers=org.headers,
    )
    assert response.status_code == 422
    assert "ends_at" in response.text


async def test_a_label_window_suppresses_matching_alerts_and_marks_open_incidents(
    client, factory
) -> None:
    org = await new_org(factory, client)
    url = (await org.integration())["webhook_url"]
    await post(client, url, am_body(am_alert("Before", "db-1", team="db")))
    [incident] = await org.incidents()
    now = datetime.now(UTC)
    response = await client.post(
        "/api/v1/maintenance-windows",
        json={
            "reason": "database failover drill",
            "starts_at": (now - timedelta(minutes=1)).isoformat(),
            "ends_at": (now + timedelta(hours=1)).isoformat(),
            "scope": "labels",
            "labels": {"team": "db"},
        },
        headers=org.headers,
    )
    assert response.status_code == 201, response.text
    detail = await org.get(f"/incidents/{incident['id']}")
    marks = [e for e in detail["timeline"] if e["kind"] == "maintenance"]
    assert marks and "database failover drill" in marks[0]["detail"]
    accepted = await post(
        client,
        url,
        am_body(am_alert("During", "db-2", team="db"), am_alert("Web", "web-2", team="web")),
    )
    assert accepted.json()["suppressed"] == 1
    titles = sorted(i["title"] for i in await org.incidents())
    assert titles == ["Before on db-1", "Web on web-2"]
