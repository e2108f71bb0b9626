"""People act on incidents: acknowledge, resolve, reopen, assign, comment; the stream tells."""

from __future__ import annotations

import asyncio

from tests.incidents.helpers import am_alert, am_body, new_org, post


async def _one_incident(client, factory):
    org = await new_org(factory, client)
    url = (await org.integration())["webhook_url"]
    await post(client, url, am_body(am_alert("Act", "h")))
    [incident] = await org.incidents()
    return org, incident


async def test_acknowledge_resolve_reopen_follow_the_state_machine(client, factory) -> None:
    org, incident = await _one_incident(client, factory)
    path = f"/api/v1/incidents/{incident['id']}/actions"
    ack = await client.post(path, json={"action": "acknowledge"}, headers=org.headers)
    assert ack.status_code == 200 and ack.json()["state"] == "acknowledged"
    again = await client.post(path, json={"action": "acknowledge"}, headers=org.headers)
    assert again.status_code == 409 and "cannot be acknowledged" in again.json()["detail"]
    resolved = await client.post(
        path, json={"action": "resolve", "note": "fixed"}, headers=org.headers
    )
    assert resolved.json()["state"] == "resolved" and resolved.json()["resolved_by"]
    reopened = await client.post(path, json={"action": "reopen"}, headers=org.headers)
    assert reopened.json()["state"] == "open" and reopened.json()["reopened"] == 1
    bad = await client.post(path, json={"action": "explode"}, headers=org.headers)
    assert bad.status_code == 422
    timeline = await org.get(f"/incidents/{incident['id']}/timeline")
    assert [e["kind"] for e in timeline][-3:] == ["acknowledged", "resolved", "reopened"]
    assert timeline[-2]["detail"].endswith(": fixed")


async def test_assign_and_comment(client, factory) -> None:
    org, incident = await _one_incident(client, factory)
    assigned = await client.put(
        f"/api/v1/incidents/{incident['id']}/assignee",
        json={"assignee_id": str(org.info.owner_id)},
        headers=org.headers,
    )
    assert assigned.status_code == 200 and assigned.json()["assignee_id"] == str(org.info.owner_id)
    other = await new_org(factory, client)
    stranger = await client.put(
        f"/api/v1/incidents/{incident['id']}/assignee",
        json={"assignee_id": str(other.info.owner_id)},
        headers=org.headers,
    )
    assert stranger.status_code == 422 and "not a member" in stranger.text
    comment = await client.post(
        f"/api/v1/incidents/{incident['id']}/comments",
        json={"body": "looking"},
        headers=org.headers,
    )
    assert comment.status_code == 201 and comment.json()["kind"] == "comment"
    empty = await client.post(
        f"/api/v1/incidents/{incident['id']}/comments", json={"body": ""}, headers=org.headers
    )
    assert empty.status_code == 422


async def test_stakeholders_read_but_cannot_act(client, factory) -> None:
    org, incident = await _one_incident(client, factory)
    viewer = await factory.api_key(org.info, "stakeholder")
    headers = {"Authorization": f"Bearer {viewer}"}
    assert (
        await client.get(f"/api/v1/incidents/{incident['id']}", headers=headers)
    ).status_code == 200
    refused = await client.post(
        f"/api/v1/incidents/{incident['id']}/actions",
        json={"action": "acknowledge"},
        headers=headers,
    )
    assert refused.status_code == 403


async def test_filters_narrow_the_list(client, factory) -> None:
    org = await new_org(factory, client)
    url = (await org.integration())["webhook_url"]
    await post(client, url, am_body(am_alert("Crit", "a", severity="critical")))
    await post(client, url, am_body(am_alert("Warn", "b", severity="warning")))
    assert [i["title"] for i in await org.incidents(severity="critical")] == ["Crit on a"]
    assert [i["title"] for i in await org.incidents(severity="normal")] == ["Warn on b"]
    assert len(await org.incidents(state="active")) == 2
    assert await org.incidents(state="resolved") == []
    assert len(await org.incidents(source="alertmanager")) == 2
    bad = await client.get("/api/v1/incidents", params={"state": "sleeping"}, headers=org.headers)
    assert bad.status_code == 422


async def test_the_stream_says_changed_when_an_alert_arrives(live_server, factory) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as client:
        org = await new_org(factory, client)
        url = (await org.integration())["webhook_url"]
        lines: list[str] = []

        async def listen() -> None:
            async with client.stream(
                "GET", "/api/v1/incidents/stream", headers=org.headers
            ) as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                async for line in response.aiter_lines():
                    lines.append(line)
                    if line == "event: changed":
                        return

        listener = asyncio.create_task(listen())
        while "event: ready" not in lines:
            await asyncio.sleep(0.05)
        await post(client, url, am_body(am_alert("Live", "h")))
        await asyncio.wait_for(listener, 20)
        assert "event: changed" in lines
