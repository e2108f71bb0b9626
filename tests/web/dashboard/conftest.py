"""Helpers for the dashboard tests: people with a given role, signing in, reading the CSRF token."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from playwright.async_api import Browser, BrowserContext, async_playwright
from sqlalchemy import func, select, update

from tests.conftest import PASSWORD, LiveServer, OrgInfo
from vixpro.accounts import invitations, plans
from vixpro.accounts.principal import Principal
from vixpro.core.roles import Role
from vixpro.db.models import LoginSession, User
from vixpro.db.sessions import Database
from vixpro.web.app import create_app
from vixpro.web.state import AppState

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def csrf_of(html: str) -> str:
    match = CSRF_META.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


async def add_person(database: Database, org: OrgInfo, role: str) -> str:
    """Invite and accept through the services; returns the new person's email (password PASSWORD)."""
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    async with database.system_session("test setup") as session:
        plan = await plans.org_plan(session, org.org_id)
    owner = Principal(
        kind="user",
        org_id=org.org_id,
        org_name=org.name,
        role=Role.OWNER,
        plan=plan,
        label=org.owner_email,
        user_id=org.owner_id,
    )
    async with database.tenant_session(org.org_id) as session:
        issued = await invitations.invite(session, owner, email, role, timedelta(hours=1))
    async with database.system_session("test setup") as session:
        await invitations.accept(session, issued.token, password=PASSWORD, display_name=role)
    return email


async def expire_sessions(database: Database, email: str) -> None:
    async with database.system_session("test: expire sessions") as session:
        user_id = await session.scalar(select(User.id).where(User.email == email))
        await session.execute(
            update(LoginSession)
            .where(LoginSession.user_id == user_id)
            .values(expires_at=func.now() - timedelta(minutes=1))
        )


@pytest.fixture(scope="module")
def app(state: AppState) -> FastAPI:
    return create_app(state)


def client_for(app: FastAPI, base_url: str = "http://testserver") -> httpx.AsyncClient:
    """A client with its own cookie jar, like a fresh browser."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)


@pytest.fixture
async def anon(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as c:
        yield c


async def sign_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    """Sign ``client`` in; returns the session's CSRF token."""
    r = await client.post("/login", data={"email": email, "password": password})
    assert r.status_code == 303, r.text
    page = await client.get("/plan")
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    """Headless Debian Chromium driven by Playwright (which cannot download browsers here)."""
    async with async_playwright() as p:
        chromium = await p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        await chromium.close()


@pytest.fixture
async def context(browser: Browser, live_server: LiveServer) -> AsyncIterator[BrowserContext]:
    ctx = await browser.new_context(base_url=live_server.url)
    script_errors: list[str] = []
    ctx.on("weberror", lambda error: script_errors.append(str(error.error)))
    yield ctx
    await ctx.close()
    assert script_errors == [], "the pages raised JavaScript errors"
