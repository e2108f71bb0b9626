"""From a monitoring tool's webhook to Slack, PagerDuty, Twilio and a real SMTP server: the
outbox trigger, the dispatcher and the delivery jobs on a real procrastinate worker."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from procrastinate import App
from sqlalchemy import select, text

from tests.conftest import Factory, bearer
from tests.fakes.notify_services import FakeServices
from tests.fakes.notify_smtp import SmtpServer
from tests.incidents.helpers import am_alert, am_body, new_org, path_of
from vixpro.db.models.notify import BellNotification, OutboxEmail
from vixpro.jobs import notify as notify_jobs
from vixpro.jobs.app import create_job_app
from vixpro.notify import dispatch
from vixpro.notify.events import EventKind
from vixpro.notify.outbox import emit
from vixpro.settings import Settings
from vixpro.web.state import AppState


@pytest.fixture(scope="module")
def mail_settings(settings: Settings, smtp: SmtpServer) -> Settings:
    return settings.model_copy(
        update={
            "smtp_host": smtp.host,
            "smtp_port": smtp.port,
            "smtp_security": "none",
            "smtp_from": "VixPro <alerts@vixpro.test>",
            "notify_timeout_seconds": 1.0,
            "public_url": "https://vixpro.example.com",
        }
    )


@pytest.fixture(scope="module")
async def jobs(state: AppState, mail_settings: Settings) -> AsyncIterator[App]:
    app = create_job_app(state.db, purge_cron="0 0 1 1 *", settings=mail_settings)
    async with app.open_async():
        yield app


async def _work(app: App) -> None:
    """Dispatch what is in the outbox and run every delivery job that is due."""
    await notify_jobs.defer_dispatch(app)
    await app.run_worker_async(wait=False, install_signal_handlers=False, queues=["notify"])


async def _channel(client: httpx.AsyncClient, key: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/api/v1/notification-channels", headers=bearer(key), json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_an_incident_from_a_webhook_reaches_slack_pagerduty_sms_and_email(
    client: httpx.AsyncClient,
    factory: Factory,
    jobs: App,
    services: FakeServices,
    smtp: SmtpServer,
) -> None:
    org = await new_org(factory, client)
    sid, token = services.twilio_account()
    routing_key = services.routing_key()
    slack_url = services.slack_url()
    await _channel(
        client, org.key, {"kind": "slack", "name": "#ops", "secret": {"webhook_url": slack_url}}
    )
    await _channel(
        client,
        org.key,
        {
            "kind": "pagerduty",
            "name": "On call",
            "config": {"events_url": f"{services.url}/pagerduty/v2/enqueue"},
            "secret": {"routing_key": routing_key},
        },
    )
    await _channel(
        client,
        org.key,
        {
            "kind": "twilio",
            "name": "SMS",
            "config": {
                "account_sid": sid,
                "from_number": "+14155550100",
                "to_numbers": ["+14155550101"],
                "api_url": f"{services.url}/twilio",
            },
            "secret": {"auth_token": token},
        },
    )
    await _channel(
        client,
        org.key,
        {"kind": "email", "name": "Ops mail", "config": {"to": ["oncall@example.com"]}},
    )
    integration = await org.integration()
    hook = path_of(integration["webhook_url"])
    instance = f"web-{uuid.uuid4().hex[:6]}"
    opened = await client.post(
        hook, content=am_body(am_alert("DiskFull", instance, severity="critical"))
    )
    assert opened.status_code == 202, opened.text
    incident = (await org.incidents())[0]
    await _work(jobs)

    slack = [r for r in services.of("slack") if slack_url.endswith(r.path)]
    assert len(slack) == 1 and "DiskFull" in slack[0].json["text"]
    assert slack[0].json["blocks"][-1]["elements"][0]["url"] == (
        f"https://vixpro.example.com/incidents/{incident['id']}"
    )
    paged = [r.json for r in services.of("pagerduty") if r.json.get("routing_key") == routing_key]
    assert [p["event_action"] for p in paged] == ["trigger"]
    assert paged[0]["dedup_key"] == f"vixpro-{incident['id']}"
    assert paged[0]["payload"]["severity"] == "critical"
    sms = [r.form for r in services.of("twilio") if sid in r.path]
    assert len(sms) == 1 and sms[0]["To"] == "+14155550101" and "DiskFull" in sms[0]["Body"]
    mails = [m for m in smtp.received if m.rcpt_tos == ["oncall@example.com"]]
    assert len(mails) == 1
    assert mails[0].mail_from == "alerts@vixpro.test"
    assert "DiskFull" in mails[0].message["Subject"]
    assert f"/incidents/{incident['id']}" in mails[0].part("text/plain")
    assert f'href="https://vixpro.example.com/incidents/{incident["id"]}"' in mails[0].part(
        "text/html"
    )

    # Acknowledged by a person, then resolved by the monitoring tool: PagerDuty follows.
    acked = await client.post(
        f"/api/v1/incidents/{incident['id']}/actions",
        headers=org.headers,
        json={"action": "acknowledge"},
    )
    assert acked.status_code == 200, acked.text
    resolved = await client.post(
        hook,
        content=am_body(am_alert("DiskFull", instance, status="resolved", severity="critical")),
    )
    assert resolved.status_code == 202
    await _work(jobs)
    paged = [r.json for r in services.of("pagerduty") if r.json.get("routing_key") == routing_key]
    assert [p["event_action"] for p in paged] == ["trigger", "acknowledge", "resolve"]
    assert {p["dedup_key"] for p in paged} == {f"vixpro-{incident['id']}"}

    log = (await client.get("/api/v1/notification-deliveries", headers=org.headers)).json()["items"]
    assert log and all(d["state"] == "sent" for d in log)
    first = next(
        d for d in log if d["channel_kind"] == "pagerduty" and d["event_kind"] == "incident.opened"
    )
    assert (
        first["attempts"][0]["status"] == 202
        and "Event processed" in first["attempts"][0]["response"]
    )


async def test_a_deleted_webhook_flags_the_channel_and_is_not_retried(
    client: httpx.AsyncClient, factory: Factory, state: AppState, jobs: App, services: FakeServices
) -> None:
    org = await new_org(factory, client)
    dead = f"{services.url}/slack/services/T1/B1/deleted-{uuid.uuid4().hex}"
    channel = await _channel(
        client, org.key, {"kind": "slack", "name": "old", "secret": {"webhook_url": dead}}
    )
    async with state.db.tenant_session(org.info.org_id) as session:
        await emit(
            session,
            org.info.org_id,
            EventKind.INCIDENT_OPENED,
            "Something broke",
            link="/incidents",
        )
    await _work(jobs)
    after = (
        await client.get(f"/api/v1/notification-channels/{channel['id']}", headers=org.headers)
    ).json()
    assert after["status"] == "failing" and "HTTP 404" in after["failure"]
    log = (await client.get("/api/v1/notification-deliveries", headers=org.headers)).json()["items"]
    failed = [d for d in log if d["channel_id"] == channel["id"]]
    assert len(failed) == 1 and failed[0]["state"] == "failed"
    assert len(failed[0]["attempts"]) == 1 and failed[0]["attempts"][0]["permanent"]
    assert failed[0]["attempts"][0]["response"] == "no_service"
    # The organisation hears about it on the bell (and by email: audience "members").
    async with state.db.tenant_session(org.info.org_id) as session:
        rung = (
            await session.scalars(
                select(BellNotification.kind).where(BellNotification.user_id == org.info.owner_id)
            )
        ).all()
    assert EventKind.CHANNEL_FAILING.value in rung
    # Later events are logged as not sent, without calling the dead URL again.
    calls = len([r for r in services.of("slack") if "deleted-" in r.path])
    async with state.db.tenant_session(org.info.org_id) as session:
        await emit(session, org.info.org_id, EventKind.INCIDENT_OPENED, "Again", link="/incidents")
    await _work(jobs)
    assert len([r for r in services.of("slack") if "deleted-" in r.path]) == calls
    # New settings give it a new chance.
    fixed = await client.patch(
        f"/api/v1/notification-channels/{channel['id']}",
        headers=org.headers,
        json={"secret": {"webhook_url": services.slack_url()}},
    )
    assert fixed.json()["status"] == "ok"


async def test_a_failing_or_hanging_target_is_retried_with_backoff_until_it_answers(
    client: httpx.AsyncClient, factory: Factory, state: AppState, jobs: App, services: FakeServices
) -> None:
    org = await new_org(factory, client)
    url = f"{services.url}/hook/retry-{uuid.uuid4().hex}"
    channel = await _channel(
        client,
        org.key,
        {"kind": "webhook", "name": "hook", "secret": {"url": url, "signing_secret": "x" * 20}},
    )
    services.hang(url.removeprefix(services.url))  # first try: no answer within the timeout
    async with state.db.tenant_session(org.info.org_id) as session:
        await emit(session, org.info.org_id, EventKind.INCIDENT_OPENED, "Flaky", link="/incidents")
    await _work(jobs)
    log = (
        await client.get(
            "/api/v1/notification-deliveries",
            headers=org.headers,
            params={"channel_id": channel["id"]},
        )
    ).json()["items"]
    assert log[0]["state"] == "retrying" and "did not answer in time" in log[0]["last_error"]
    state_now = "retrying"
    for _ in range(40):  # the retry is due 3 s later; bounded
        await asyncio.sleep(0.25)
        await jobs.run_worker_async(wait=False, install_signal_handlers=False, queues=["notify"])
        log = (
            await client.get(
                "/api/v1/notification-deliveries",
                headers=org.headers,
                params={"channel_id": channel["id"]},
            )
        ).json()["items"]
        state_now = log[0]["state"]
        if state_now == "sent":
            break
    assert state_now == "sent"
    assert [a["ok"] for a in log[0]["attempts"]] == [False, True]


async def test_audiences_ring_people_whatever_the_rules_and_email_waits_in_the_outbox(
    factory: Factory, state: AppState, settings: Settings
) -> None:
    org = await factory.org()
    staff_org = await factory.org(staff=True)
    app = create_job_app(state.db, purge_cron="0 0 1 1 *", settings=settings)  # no SMTP
    async with state.db.tenant_session(org.org_id) as session:
        await emit(
            session,
            org.org_id,
            EventKind.MAINTENANCE_ANNOUNCED,
            "Maintenance Sunday",
            data={"audience": "members"},
        )
        await emit(
            session,
            org.org_id,
            EventKind.TICKET_REPLY,
            "Support replied",
            data={"audience": "users", "user_ids": [str(org.owner_id)]},
        )
        await emit(
            session, org.org_id, EventKind.TICKET_REPLY, "New ticket", data={"audience": "staff"}
        )
    async with app.open_async():
        await _work(app)
    async with state.db.system_session("test") as session:
        rung = (
            await session.execute(
                select(BellNotification.user_id, BellNotification.title).where(
                    BellNotification.org_id == org.org_id
                )
            )
        ).all()
        kept = (
            await session.scalars(
                select(OutboxEmail.to_addr).where(OutboxEmail.org_id == org.org_id)
            )
        ).all()
        staff_ids = set((await session.scalars(text("SELECT id FROM users WHERE is_staff"))).all())
    assert (org.owner_id, "Maintenance Sunday") in rung
    assert (org.owner_id, "Support replied") in rung
    assert {
        u for u, t in rung if t == "New ticket"
    } == staff_ids and staff_org.owner_id in staff_ids
    assert kept.count(org.owner_email) == 2 and staff_org.owner_email in kept


async def test_a_critical_only_channel_hears_only_critical_events(
    client: httpx.AsyncClient, factory: Factory, state: AppState
) -> None:
    org = await new_org(factory, client)
    channel = await _channel(
        client,
        org.key,
        {
            "kind": "email",
            "name": "pager mail",
            "config": {"to": ["p@example.com"]},
            "critical_only": True,
        },
    )
    assert channel["critical_only"] is True
    async with state.db.tenant_session(org.info.org_id) as session:
        for severity in ("normal", "critical"):
            await emit(
                session,
                org.info.org_id,
                EventKind.INCIDENT_OPENED,
                f"a {severity} incident",
                data={"severity": severity},
            )
        await emit(session, org.info.org_id, EventKind.HOST_AGENT_OFFLINE, "web-1 is offline")
    async with state.db.system_session("test: dispatch") as session:
        await dispatch.dispatch(session)
    log = (await client.get("/api/v1/notification-deliveries", headers=org.headers)).json()["items"]
    assert sorted(d["title"] for d in log) == ["a critical incident", "web-1 is offline"]


async def test_events_for_people_also_reach_the_channels_whose_rules_include_them(
    client: httpx.AsyncClient, factory: Factory, state: AppState
) -> None:
    org = await new_org(factory, client)
    await _channel(
        client,
        org.key,
        {
            "kind": "email",
            "name": "ops list",
            "config": {"to": ["ops@example.com"]},
            "events": ["maintenance.announced", "ticket.reply"],
        },
    )
    async with state.db.tenant_session(org.info.org_id) as session:
        await emit(
            session,
            org.info.org_id,
            EventKind.MAINTENANCE_ANNOUNCED,
            "Maintenance Sunday",
            data={"audience": "members"},
        )
        await emit(
            session,
            org.info.org_id,
            EventKind.TICKET_REPLY,
            "Support replied",
            data={"audience": "users", "user_ids": [str(org.info.owner_id)]},
        )
        await emit(
            session,
            org.info.org_id,
            EventKind.TICKET_REPLY,
            "The organisation replied",
            data={"audience": "staff"},
        )
        await emit(
            session, org.info.org_id, EventKind.ACTION_ITEM_CHANGED, "not in the rules", data={}
        )
    async with state.db.system_session("test: dispatch") as session:
        await dispatch.dispatch(session)
    log = (await client.get("/api/v1/notification-deliveries", headers=org.headers)).json()["items"]
    to_channel = sorted(d["title"] for d in log if d["channel_id"] is not None)
    assert to_channel == ["Maintenance Sunday", "Support replied"]
