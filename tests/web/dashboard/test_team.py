"""The team page over plain HTTP: plan limits shown inline, inviting and accepting."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI

from tests.conftest import PASSWORD, Factory
from tests.web.dashboard.conftest import add_person, client_for, csrf_of, sign_in
from vixpro.db.sessions import Database
from vixpro.web.deps import SESSION_COOKIE

ACCEPT_LINK = re.compile(r'id="one-time-secret"[^>]*value="[^"]*(/invite/[^"]+)"')


async def _invite(client: httpx.AsyncClient, csrf: str, email: str, role: str) -> str:
    r = await client.post("/team/invite", data={"email": email, "role": role, "csrf_token": csrf})
    assert r.status_code == 201, r.text
    match = ACCEPT_LINK.search(r.text)
    assert match, "the accept link is not on the page"
    return match.group(1)


async def test_inviting_past_the_team_member_limit_names_the_limit(
    anon: httpx.AsyncClient, factory: Factory
) -> None:
    org = await factory.org(plan="starter")  # two team members: the owner and one more
    csrf = await sign_in(anon, org.owner_email)
    await _invite(anon, csrf, "second@example.com", "member")
    r = await anon.post(
        "/team/invite", data={"email": "third@example.com", "role": "admin", "csrf_token": csrf}
    )
    assert r.status_code == 403
    assert "the Starter plan allows 2 team members; this organisation already uses 2" in r.text
    assert 'id="invite-form"' in r.text  # shown on the team page, not a bare error page
    assert 'value="third@example.com"' in r.text  # what was typed is kept
    assert "third@example.com</td>" not in r.text


async def test_duplicate_and_invalid_invitations_are_shown_inline(
    anon: httpx.AsyncClient, factory: Factory
) -> None:
    org = await factory.org()
    csrf = await sign_in(anon, org.owner_email)
    await _invite(anon, csrf, "twice@example.com", "member")
    r = await anon.post(
        "/team/invite", data={"email": "twice@example.com", "role": "member", "csrf_token": csrf}
    )
    assert r.status_code == 409
    assert "already has a pending invitation" in r.text
    r = await anon.post(
        "/team/invite", data={"email": "not-an-email", "role": "member", "csrf_token": csrf}
    )
    assert r.status_code == 422
    assert "email: is not an email address" in r.text


async def test_accept_link_creates_the_account_and_signs_in(
    anon: httpx.AsyncClient, app: FastAPI, factory: Factory
) -> None:
    org = await factory.org()
    csrf = await sign_in(anon, org.owner_email)
    path = await _invite(anon, csrf, "newcomer@example.com", "member")
    async with client_for(app) as fresh:
        page = await fresh.get(path)
        assert page.status_code == 200
        assert "Join " + org.name in page.text
        form_csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert form_csrf
        form = {"display_name": "New Comer", "password": PASSWORD, "confirm": PASSWORD}
        r = await fresh.post(path, data={**form, "csrf_token": "forged"})
        assert r.status_code == 403
        r = await fresh.post(
            path, data={**form, "confirm": "different", "csrf_token": form_csrf[1]}
        )
        assert r.status_code == 422
        assert "the two passwords do not match" in r.text
        r = await fresh.post(path, data={**form, "csrf_token": form_csrf[1]})
        assert r.status_code == 303
        assert r.headers["location"] == "/plan"
        assert SESSION_COOKIE in r.headers["set-cookie"]
        plan = await fresh.get("/plan")
        assert plan.status_code == 200
        assert "newcomer@example.com" in plan.text
        # The link is used up.
        again = await fresh.get(path)
        assert again.status_code == 404
        assert "This invitation link does not work" in again.text


async def test_existing_user_accepts_after_signing_in_and_lands_in_the_new_org(
    anon: httpx.AsyncClient, app: FastAPI, factory: Factory, database: Database
) -> None:
    org = await factory.org()
    elsewhere = await factory.org()
    csrf = await sign_in(anon, org.owner_email)
    path = await _invite(anon, csrf, elsewhere.owner_email, "admin")
    async with client_for(app) as them:
        page = await them.get(path)
        assert "sign in to accept" in page.text
        r = await them.post(path, data={})
        assert r.status_code == 303
        assert r.headers["location"].startswith("/login")
        their_csrf = await sign_in(them, elsewhere.owner_email)
        page = await them.get(path)
        assert "Accept and join" in page.text
        r = await them.post(path, data={"csrf_token": "wrong"})
        assert r.status_code == 403
        r = await them.post(path, data={"csrf_token": their_csrf})
        assert r.status_code == 303
        plan = (await them.get("/plan")).text
        assert f'<p class="muted">{org.name}</p>' in plan
        assert csrf_of(plan) == their_csrf


async def test_unknown_invitation_token_is_a_friendly_404(anon: httpx.AsyncClient) -> None:
    r = await anon.get("/invite/not-a-real-token-at-all")
    assert r.status_code == 404
    assert "This invitation link does not work" in r.text
    r = await anon.post("/invite/not-a-real-token-at-all", data={"password": "x"})
    assert r.status_code == 404


async def test_owner_changes_a_role_and_removes_a_member(
    anon: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    org = await factory.org()
    email = await add_person(database, org, "member")
    csrf = await sign_in(anon, org.owner_email)
    team = (await anon.get("/team")).text
    member_id = re.search(
        rf'data-email="{re.escape(email)}".*?/team/members/([0-9a-f-]+)/role', team, re.S
    )
    assert member_id
    r = await anon.post(
        f"/team/members/{member_id[1]}/role", data={"role": "admin", "csrf_token": csrf}
    )
    assert r.status_code == 303
    team = (await anon.get("/team")).text
    assert f"{email} is now admin." in team
    r = await anon.post(f"/team/members/{member_id[1]}/remove", data={"csrf_token": csrf})
    assert r.status_code == 303
    team = (await anon.get("/team")).text
    assert f"{email} was removed" in team
    assert f'data-email="{email}"' not in team
