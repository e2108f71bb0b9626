"""The response-clock sweep as the worker runs it: a Critical ticket left unanswered past its
first-response target is escalated by a real procrastinate worker, and staff are told."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import httpx
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy import update

from tests.conftest import Factory, bearer
from tests.support.conftest import outbox
from vixpro.db.models.support import Ticket
from vixpro.db.sessions import Database
from vixpro.jobs.app import create_job_app
from vixpro.web.state import AppState


async def test_the_worker_escalates_a_ticket_nobody_answered(
    client: httpx.AsyncClient, state: AppState, factory: Factory, database: Database
) -> None:
    org = await factory.org("preview")
    key = await factory.api_key(org)
    opened = await client.post(
        "/api/v1/tickets",
        headers=bearer(key),
        json={"subject": "Agent offline", "severity": "critical", "body": "since last night"},
    )
    ticket_id = opened.json()["id"]
    # Opened ten hours ago: past 4 business hours and past 8 hours, whenever the test runs.
    async with state.db.system_session("test: age the ticket") as session:
        await session.execute(
            update(Ticket)
            .where(Ticket.id == ticket_id)
            .values(opened_at=Ticket.opened_at - timedelta(hours=10))
        )
    app = create_job_app(database, purge_cron="0 0 1 1 *")
    async with app.open_async():
        with contextlib.suppress(AlreadyEnqueued):  # the periodic deferrer may have queued it
            await app.configure_task("vixpro.ticket_clock_sweep").defer_async(timestamp=0)
        await app.run_worker_async(
            wait=False, install_signal_handlers=False, queues=["maintenance"]
        )
    got = (await client.get(f"/api/v1/tickets/{ticket_id}", headers=bearer(key))).json()
    assert got["escalated"] is True
    assert got["clocks"][0]["state"] == "breached"
    [escalation] = [
        r for r in await outbox(state, org.org_id, "ticket.reply") if r["data"].get("escalated")
    ]
    assert escalation["data"]["audience"] == "staff"
    assert escalation["link"] == f"/staff/tickets/{ticket_id}"
    assert "first response" in escalation["body"]
