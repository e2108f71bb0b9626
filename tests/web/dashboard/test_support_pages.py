"""The support pages over HTTP: forms with CSRF and files, errors shown inside the page, roles,
the staff console's queue, desk and announcements, and the banner partial."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI

from tests.conftest import Factory
from tests.support.conftest import PNG
from tests.web.dashboard.conftest import add_person, client_for, sign_in
from vixpro.accounts.principal import Actor
from vixpro.db.action_items import raise_action_item
from vixpro.db.sessions import Database
from vixpro.support import action_items
from vixpro.web.state import AppState

STAFF = Actor("staff", None, "engineer@vixpro.test")


async def test_open_a_ticket_with_a_screenshot_and_read_it_back(
    app: FastAPI, factory: Factory
) -> None:
    org = await factory.org("lean")
    async with client_for(app) as c:
        csrf = await sign_in(c, org.owner_email)
        page = await c.get("/support")
        assert page.status_code == 200 and "Priority support" in page.text
        r = await c.post(
            "/support/tickets",
            data={
                "csrf_token": csrf,
                "subject": "Bell is silent",
                "severity": "critical",
                "body": "No bell since Monday",
            },
            files=[("files", ("bell.png", PNG, "image/png"))],
        )
        assert r.status_code == 303, r.text
        ticket = await c.get(r.headers["location"])
        assert "Bell is silent" in ticket.text and "bell.png" in ticket.text
        assert 'data-clock="first_response"' in ticket.text
        listed = await c.get("/support")
        assert "Bell is silent" in listed.text


async def test_a_bad_file_is_named_in_the_page_and_nothing_is_opened(
    app: FastAPI, factory: Factory
) -> None:
    org = await factory.org("free")
    async with client_for(app) as c:
        csrf = await sign_in(c, org.owner_email)
        r = await c.post(
            "/support/tickets",
            data={"csrf_token": csrf, "subject": "With a script", "body": "see file"},
            files=[("files", ("run.png", b"#!/bin/sh\nrm -rf /\n", "image/png"))],
        )
        assert r.status_code == 422
        assert "run.png is not a PNG, JPEG, WebP or PDF file" in r.text
        assert 'value="With a script"' in r.text  # the form keeps what was typed
        assert "No tickets yet" in r.text and "Standard support" in r.text
        missing_csrf = await c.post("/support/tickets", data={"subject": "x", "body": "y"})
        assert missing_csrf.status_code == 403


async def test_stakeholders_read_but_cannot_write(
    app: FastAPI, factory: Factory, database: Database
) -> None:
    org = await factory.org("lean")
    email = await add_person(database, org, "stakeholder")
    async with client_for(app) as c:
        csrf = await sign_in(c, email)
        page = await c.get("/support")
        assert page.status_code == 200 and 'id="ticket-form"' not in page.text
        r = await c.post("/support/tickets", data={"csrf_token": csrf, "subject": "x", "body": "y"})
        assert r.status_code == 403


async def test_only_owners_and_admins_verify_a_fix(
    app: FastAPI, state: AppState, factory: Factory, database: Database
) -> None:
    org = await factory.org("lean")
    async with state.db.tenant_session(org.org_id) as session:
        raised = await raise_action_item(session, org.org_id, "load_uptime", "crashed", "t", "d")
    async with state.db.system_session("test") as session:
        for to in ("pending_fix", "pending_org_review"):
            await action_items.staff_move(session, STAFF, state.manifest, raised.id, to)
    member = await add_person(database, org, "member")
    async with client_for(app) as c:
        csrf = await sign_in(c, member)
        page = await c.get(f"/action-items/{raised.id}")
        assert "Pending your review" in page.text and 'id="review-form"' not in page.text
        r = await c.post(
            f"/action-items/{raised.id}/review", data={"csrf_token": csrf, "verdict": "works"}
        )
        assert r.status_code == 403 and "owners and admins" in r.text
    async with client_for(app) as c:
        csrf = await sign_in(c, org.owner_email)
        r = await c.post(
            f"/action-items/{raised.id}/review",
            data={"csrf_token": csrf, "verdict": "broken", "note": "still crashing"},
        )
        assert r.status_code == 303
        page = await c.get(f"/action-items/{raised.id}")
        assert "Pending VixPro fix" in page.text and "still crashing" in page.text


async def test_the_staff_console_pages_are_for_staff(app: FastAPI, factory: Factory) -> None:
    staff = await factory.org("lean", staff=True)
    other = await factory.org("lean")
    async with client_for(app) as c:
        await sign_in(c, other.owner_email)
        for path in ("/staff/engineering", "/staff/tickets", "/staff/announcements"):
            assert (await c.get(path)).status_code == 403, path
    async with client_for(app) as c:
        csrf = await sign_in(c, staff.owner_email)
        for path in ("/staff/engineering", "/staff/tickets", "/staff/announcements"):
            r = await c.get(path)
            assert r.status_code == 200 and "Engineering queue" in r.text, path
        start = datetime.now(UTC) + timedelta(hours=2)
        soon = await c.post(
            "/staff/announcements",
            data={
                "csrf_token": csrf,
                "title": "Disk swap",
                "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
                "ends_at": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            },
        )
        assert soon.status_code == 422 and "24 hours" in soon.text
        assert 'value="Disk swap"' in soon.text


async def test_the_banner_is_empty_without_maintenance(
    anon: httpx.AsyncClient, app: FastAPI, factory: Factory
) -> None:
    assert (await anon.get("/announcements/banner")).status_code in (303, 401)
    org = await factory.org("lean")
    async with client_for(app) as c:
        await sign_in(c, org.owner_email)
        page = await c.get("/plan")
        assert 'hx-get="/announcements/banner"' in page.text
        partial = await c.get("/announcements/banner")
        assert partial.status_code == 200 and 'id="maintenance-banner"' in partial.text
        assert 'class="maintenance-banner' not in partial.text
