"""The outbox is filled inside the transactions of the changes it reports: approvals from the
tool runner's single statement, host-agent incidents raised by the platform, people's actions."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import text
from vixpro_agent.protocol import signing

from tests.conftest import Factory, bearer
from vixpro.core.alerts import NormalizedAlert, Severity, Status
from vixpro.db.urls import libpq_url
from vixpro.incidents import platform_alerts
from vixpro.incidents.ingest import Submission
from vixpro.jobs.app import create_job_app
from vixpro.jobs.incidents import start_diagnoses
from vixpro.notify import dispatch
from vixpro.notify.events import EventKind
from vixpro.notify.outbox import emit
from vixpro.web.state import AppState


async def _outbox(state: AppState, org_id: uuid.UUID) -> list[Any]:
    async with state.db.tenant_session(org_id) as session:
        rows = await session.execute(
            text("SELECT kind, title, link, data FROM notification_outbox ORDER BY id")
        )
        return list(rows)


async def _enrolled(client: httpx.AsyncClient, key: str, name: str) -> str:
    token = (await client.post("/api/v1/servers/enrollment-tokens", headers=bearer(key))).json()
    enrolled = await client.post(
        "/api/v1/hostagent/enroll",
        json={
            "token": token["token"],
            "public_key": signing.public_pem(signing.generate_private_key()),
            "facts": {"hostname": name},
        },
    )
    assert enrolled.status_code in (200, 201), enrolled.text
    return str(enrolled.json()["server_id"])


async def test_a_tool_run_waiting_for_approval_is_announced(
    client: httpx.AsyncClient, factory: Factory, state: AppState
) -> None:
    org = await factory.org()
    key = await factory.api_key(org, "admin")
    server_id = await _enrolled(client, key, "db-1")
    await client.patch("/api/v1/tools/restart_service", headers=bearer(key), json={"enabled": True})
    run = await client.post(
        f"/api/v1/servers/{server_id}/tools/restart_service/run",
        headers=bearer(key),
        json={"params": {"unit": "nginx.service"}},
    )
    approval_id = run.json()["approval"]["id"]
    rows = [r for r in await _outbox(state, org.org_id) if r.kind == "approval.requested"]
    assert len(rows) == 1
    assert rows[0].title == "Approval requested: restart_service on db-1"
    assert rows[0].link == "/approvals" and rows[0].data["approval_id"] == approval_id


async def test_a_tampered_host_agent_opens_as_its_own_event_and_people_actions_follow(
    client: httpx.AsyncClient, factory: Factory, state: AppState
) -> None:
    org = await factory.org()
    key = await factory.api_key(org, "admin")
    server_id = await _enrolled(client, key, "web-9")
    await state.hub.presence.tampered(uuid.UUID(server_id), "config signature mismatch")
    async with state.db.system_session("test: raise host-agent events") as session:
        await platform_alerts.raise_pending(session, libpq_url(state.db.urls.app))
    rows = await _outbox(state, org.org_id)
    opened = [r for r in rows if r.kind == "hostagent.tampered"]
    assert len(opened) == 1 and "Host agent config tampered on web-9" in opened[0].title
    incident_id = opened[0].data["incident_id"]
    assert opened[0].link == f"/incidents/{incident_id}"
    assert not [r for r in rows if r.kind == "incident.opened"]
    acked = await client.post(
        f"/api/v1/incidents/{incident_id}/actions",
        headers=bearer(key),
        json={"action": "acknowledge"},
    )
    assert acked.status_code == 200, acked.text
    kinds = [r.kind for r in await _outbox(state, org.org_id)]
    assert kinds[-1] == "incident.acknowledged"


async def test_old_notifications_are_purged_and_recent_ones_kept(
    factory: Factory, state: AppState
) -> None:
    org = await factory.org()
    async with state.db.tenant_session(org.org_id) as session:
        for title in ("old", "new"):
            await emit(session, org.org_id, EventKind.STORM, title, data={"audience": "members"})
    async with state.db.system_session("test") as session:
        await dispatch.dispatch(session)
        await session.execute(
            text(
                "UPDATE notification_outbox SET dispatched_at = now() - interval '31 days' "
                "WHERE org_id = :org AND title = 'old'"
            ),
            {"org": org.org_id},
        )
        await session.execute(
            text(
                "UPDATE notification_deliveries SET created_at = now() - interval '31 days' "
                "WHERE org_id = :org AND title = 'old'"
            ),
            {"org": org.org_id},
        )
        await session.execute(
            text(
                "UPDATE bell_notifications SET created_at = now() - interval '91 days' "
                "WHERE org_id = :org AND title = 'old'"
            ),
            {"org": org.org_id},
        )
        assert await dispatch.purge_old(session) >= 3
    async with state.db.tenant_session(org.org_id) as session:
        left = {
            table: sorted((await session.scalars(text(f"SELECT title FROM {table}"))).all())
            for table in ("notification_outbox", "notification_deliveries", "bell_notifications")
        }
    assert left == {t: ["new"] for t in left}


async def test_a_finished_diagnosis_is_announced(
    client: httpx.AsyncClient, factory: Factory, state: AppState
) -> None:
    org = await factory.org()
    submitted = await state.ingest.submit(
        Submission(
            org.org_id,
            None,
            (
                NormalizedAlert(
                    source="test",
                    fingerprint=f"fp-{uuid.uuid4().hex[:8]}",
                    status=Status.FIRING,
                    severity=Severity.CRITICAL,
                    title="Disk full on nowhere-1",
                ),
            ),
        )
    )
    app = create_job_app(
        state.db, purge_cron="0 0 1 1 *", tools=lambda: (state.runner, state.manifest)
    )
    async with app.open_async():
        await start_diagnoses(app, state.db, org.org_id)
        await app.run_worker_async(wait=False, install_signal_handlers=False, queues=["reactive"])
    rows = await _outbox(state, org.org_id)
    # It names no enrolled server: the runbook engine hands it to people at once.
    escalated = [r for r in rows if r.kind == "diagnosis.escalated"]
    assert len(escalated) == 1
    assert escalated[0].data["incident_id"] == str(submitted.incident_ids[0])
    assert escalated[0].data["severity"] == "critical"
    assert [r.kind for r in rows][:1] == ["incident.opened"]
