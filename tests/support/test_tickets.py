"""Support tickets through the API: a conversation with attachments, staff answers from the
staff console's API, the other side notified every time, clocks by plan, escalation (also by
the clock sweep as a real worker runs it)."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

import httpx
import pytest
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy import func, select, update

from tests.conftest import Factory, bearer
from tests.support.conftest import PDF, PNG, Signed, outbox, signed_in
from vixpro.db.models.support import Ticket, TicketAttachment
from vixpro.db.sessions import Database
from vixpro.jobs.app import create_job_app
from vixpro.notify import bell
from vixpro.notify.dispatch import dispatch
from vixpro.support.attachments import MAX_BYTES, UPLOAD_REQUEST_LIMIT
from vixpro.support.tickets import escalate_breaches
from vixpro.web.state import AppState

KIND = "ticket.reply"


async def _open(client: httpx.AsyncClient, key: str, **fields: str) -> httpx.Response:
    body = {"subject": "Diagnoses stopped", "severity": "critical", "body": "Nothing since 9am"}
    return await client.post("/api/v1/tickets", headers=bearer(key), json=body | fields)


async def _attachments(state: AppState) -> int:
    async with state.db.system_session("test: count attachments") as session:
        return int(await session.scalar(select(func.count()).select_from(TicketAttachment)) or 0)


async def test_a_conversation_with_a_screenshot_staff_answer_and_notifications(
    client: httpx.AsyncClient, state: AppState, factory: Factory, staff: Signed, app
) -> None:
    org = await factory.org("lean")
    key = await factory.api_key(org)
    owner, csrf = await signed_in(app, org)  # opened by a person: answers go to them
    opened = await owner.post(
        "/api/v1/tickets",
        headers={"X-CSRF-Token": csrf},
        data={"subject": "Chart is blank", "severity": "normal", "body": "See the screenshot"},
        files=[("files", ("screen.png", PNG, "application/octet-stream"))],
    )
    assert opened.status_code == 201, opened.text
    ticket = opened.json()
    ticket_id = ticket["id"]
    assert ticket["status"] == "open" and ticket["priority_support"] is True
    shot = ticket["messages"][0]["attachments"][0]
    # The type comes from the content, whatever the client called it.
    assert shot["content_type"] == "image/png" and shot["size"] == len(PNG)
    got = await client.get(
        f"/api/v1/tickets/{ticket_id}/attachments/{shot['id']}", headers=bearer(key)
    )
    assert got.content == PNG and got.headers["content-type"] == "image/png"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert [c["name"] for c in ticket["clocks"]] == ["first_response", "resolution"]
    assert ticket["clocks"][0]["state"] == "running"
    # Staff hear about the new ticket.
    [new] = await outbox(state, org.org_id, KIND)
    assert new["data"]["audience"] == "staff" and new["link"] == f"/staff/tickets/{ticket_id}"

    listed = (await staff.client.get("/api/v1/staff/tickets")).json()
    assert ticket_id in [t["id"] for t in listed]
    seen = await staff.client.get(f"/api/v1/staff/tickets/{ticket_id}/attachments/{shot['id']}")
    assert seen.status_code == 200 and seen.content == PNG
    answer = await staff.post(
        f"/api/v1/staff/tickets/{ticket_id}/messages",
        data={"body": "Looking now; here is the runbook"},
        files=[("files", ("runbook.pdf", PDF, "application/pdf"))],
    )
    assert answer.status_code == 201, answer.text
    after = answer.json()
    assert after["first_staff_reply_at"] is not None
    assert after["clocks"][0]["state"] == "met"
    assert after["messages"][1]["side"] == "staff"
    # The org's opener gets bell + email for the staff answer.
    rows = await outbox(state, org.org_id, KIND)
    assert rows[-1]["data"] == {
        "audience": "users",
        "user_ids": [str(org.owner_id)],
        "severity": "normal",
        "side": "staff",
    }
    assert rows[-1]["link"] == f"/support/tickets/{ticket_id}"
    # The notifications dispatcher turns that row into a bell entry for the opener.
    async with state.db.system_session("test: dispatch") as session:
        await dispatch(session)
        rung = await bell.latest(session, org.owner_id)
    assert rung[0].title == "VixPro support replied: Chart is blank"

    reply = await client.post(
        f"/api/v1/tickets/{ticket_id}/messages", headers=bearer(key), json={"body": "Thanks!"}
    )
    assert reply.status_code == 201 and len(reply.json()["messages"]) == 3
    assert (await outbox(state, org.org_id, KIND))[-1]["data"]["audience"] == "staff"

    mitigated = await staff.post(
        f"/api/v1/staff/tickets/{ticket_id}/status", json={"status": "mitigated"}
    )
    assert mitigated.status_code == 200 and mitigated.json()["status"] == "mitigated"
    closed = await client.post(f"/api/v1/tickets/{ticket_id}/close", headers=bearer(key))
    assert closed.json()["status"] == "resolved"
    late = await client.post(
        f"/api/v1/tickets/{ticket_id}/messages", headers=bearer(key), json={"body": "again"}
    )
    assert late.status_code == 409
    await owner.aclose()


async def test_the_free_plan_gets_best_effort_without_clocks(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    org = await factory.org("free")
    key = await factory.api_key(org)
    r = await _open(client, key)
    assert r.status_code == 201
    assert r.json()["priority_support"] is False and r.json()["clocks"] == []


@pytest.mark.parametrize(
    ("name", "data", "status", "words"),
    [
        ("notes.txt", b"just text, not a screenshot", 422, "not a PNG, JPEG, WebP or PDF"),
        ("fake.png", b"MZ\x90\x00" + b"\x00" * 64, 422, "not a PNG"),  # a Windows program
        ("../../etc/passwd.png", PNG, 422, "not a plain file name"),
        ("..\\boot.png", PNG, 422, "not a plain file name"),
        ("big.png", PNG + b"\x00" * MAX_BYTES, 413, "larger than 10 MiB"),
    ],
)
async def test_bad_attachments_are_refused_and_nothing_is_stored(
    client: httpx.AsyncClient,
    state: AppState,
    factory: Factory,
    name: str,
    data: bytes,
    status: int,
    words: str,
) -> None:
    org = await factory.org("lean")
    key = await factory.api_key(org)
    ticket_id = (await _open(client, key)).json()["id"]
    before = await _attachments(state)
    r = await client.post(
        f"/api/v1/tickets/{ticket_id}/messages",
        headers=bearer(key),
        data={"body": "with a file"},
        files=[("files", (name, data, "image/png"))],
    )
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert words in r.json()["detail"]
    assert await _attachments(state) == before
    detail = (await client.get(f"/api/v1/tickets/{ticket_id}", headers=bearer(key))).json()
    assert len(detail["messages"]) == 1  # no message either


async def test_uploads_over_the_route_limit_get_413_and_other_routes_keep_1_mib(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    org = await factory.org("lean")
    key = await factory.api_key(org)
    ticket_id = (await _open(client, key)).json()["id"]
    path = f"/api/v1/tickets/{ticket_id}/messages"
    # Refused by its length before anything is read or parsed.
    huge = await client.post(
        path,
        headers=bearer(key) | {"content-type": "multipart/form-data; boundary=x"},
        content=b"x" * (UPLOAD_REQUEST_LIMIT + 1),
    )
    assert huge.status_code == 413
    assert huge.json()["detail"] == f"request bodies are limited to {UPLOAD_REQUEST_LIMIT} bytes"
    # A 3 MiB screenshot fits the upload route...
    shot = PNG + b"\x00" * (3 * 1024 * 1024)
    ok = await client.post(
        path,
        headers=bearer(key),
        data={"body": "large"},
        files=[("files", ("large.png", shot, "image/png"))],
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["messages"][-1]["attachments"][0]["size"] == len(shot)
    # ... while any other route still refuses more than 1 MiB.
    big = await client.post(
        "/api/v1/maintenance-windows", headers=bearer(key), content=b"x" * (2 * 1024 * 1024)
    )
    assert big.status_code == 413


async def test_missing_fields_and_read_only_callers_are_refused(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    org = await factory.org("lean")
    key = await factory.api_key(org)
    r = await _open(client, key, subject="  ")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "subject"
    r = await _open(client, key, severity="urgent")
    assert r.status_code == 422 and "critical" in r.json()["detail"]
    stakeholder = await factory.api_key(org, "stakeholder")
    assert (await _open(client, stakeholder)).status_code == 403


async def test_a_missed_clock_escalates_once_and_tells_staff(
    client: httpx.AsyncClient, state: AppState, factory: Factory
) -> None:
    org = await factory.org("starter")
    key = await factory.api_key(org)
    opened = (await _open(client, key)).json()
    ticket_id = opened["id"]
    # A minute past the first-response deadline, whenever the test runs: a ticket opened on a
    # Friday evening in business hours is not due until Monday morning.
    [first_due] = [c["due_at"] for c in opened["clocks"] if c["name"] == "first_response"]
    later = datetime.fromisoformat(first_due) + timedelta(minutes=1)
    async with state.db.system_session("test sweep") as session:
        assert await escalate_breaches(session, later) >= 1
    async with state.db.system_session("test sweep") as session:
        assert await escalate_breaches(session, later) == 0  # once per breach
    rows = [r for r in await outbox(state, org.org_id, KIND) if r["data"].get("escalated")]
    assert len(rows) == 1 and rows[0]["data"]["audience"] == "staff"
    assert "first_response" in rows[0]["data"]["clocks"]
    got = (await client.get(f"/api/v1/tickets/{ticket_id}", headers=bearer(key))).json()
    assert got["escalated"] is True
    async with state.db.system_session("test") as session:
        ticket = await session.get(Ticket, got["id"])
        assert ticket is not None and ticket.breaches[0].startswith("first_response@")


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
