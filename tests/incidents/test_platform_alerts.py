"""Host-agent events (offline, tampered) become Critical incidents, and resolve when over."""

from __future__ import annotations

import psycopg

from tests.conftest import owner_dsn
from tests.incidents.helpers import enrol_server
from vixpro.db.urls import libpq_url
from vixpro.hub.presence import Presence
from vixpro.incidents import platform_alerts, service
from vixpro.web.state import AppState


async def _raise(state: AppState) -> int:
    async with state.db.system_session("test") as session:
        return await platform_alerts.raise_pending(session, libpq_url(state.db.urls.app))


async def _incidents(state: AppState, org_id):
    async with state.db.tenant_session(org_id) as session:
        return list(await service.list_incidents(session, service.Filters(), None, 50))


async def test_an_offline_host_agent_is_a_critical_incident_until_it_returns(
    state, factory, db_urls
) -> None:
    org = await factory.org()
    server_id = await enrol_server(state, org, "silent-1")
    presence = Presence(state.db, "replica-a")
    await presence.online(server_id, {"agent_version": "0.1.0", "manifest_version": 1})
    with psycopg.connect(owner_dsn(db_urls)) as conn:
        conn.execute(
            "UPDATE servers SET last_seen_at = now() - interval '3 minutes' WHERE id = %s",
            (server_id,),
        )
    assert await presence.sweep() >= 1
    assert await _raise(state) >= 1
    [incident] = await _incidents(state, org.org_id)
    assert incident.title == "Host agent offline on silent-1"
    assert incident.severity == "critical" and incident.source == "vixpro"
    assert incident.server_id == server_id and incident.state == "open"
    assert await _raise(state) == 0  # raised once
    await presence.online(server_id, {"agent_version": "0.1.0", "manifest_version": 1})
    assert await _raise(state) == 1
    [incident] = await _incidents(state, org.org_id)
    assert incident.state == "resolved" and incident.resolved_by == "system"


async def test_tampering_is_a_critical_incident(state, factory, db_urls) -> None:
    org = await factory.org()
    server_id = await enrol_server(state, org, "edited-1")
    await Presence(state.db, "replica-a").tampered(
        server_id, "config.json signature does not match"
    )
    await _raise(state)
    [incident] = await _incidents(state, org.org_id)
    assert incident.title == "Host agent config tampered on edited-1"
    assert incident.severity == "critical" and incident.server_id == server_id
    async with state.db.tenant_session(org.org_id) as session:
        [alert] = await service.incident_alerts(session, incident.id)
    assert "signature does not match" in alert.description
    with psycopg.connect(owner_dsn(db_urls)) as conn:
        conn.execute("UPDATE servers SET status = 'online' WHERE id = %s", (server_id,))
    await _raise(state)
    [incident] = await _incidents(state, org.org_id)
    assert incident.state == "resolved"
