"""Server-side guards: CSRF on every POST, read-only stakeholders, owner/admin and staff pages."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.conftest import Factory
from tests.web.dashboard.conftest import add_person, client_for, sign_in
from vixpro.db.sessions import Database


async def test_post_without_or_with_wrong_csrf_token_is_refused(
    anon: httpx.AsyncClient, factory: Factory
) -> None:
    org = await factory.org()
    csrf = await sign_in(anon, org.owner_email)
    invite = {"email": "csrf-victim@example.com", "role": "member"}
    r = await anon.post("/team/invite", data=invite)
    assert r.status_code == 403
    assert "did not come from VixPro" in r.text
    r = await anon.post("/team/invite", data={**invite, "csrf_token": "x" * len(csrf)})
    assert r.status_code == 403
    r = await anon.post("/team/invite", data=invite, headers={"X-CSRF-Token": "wrong"})
    assert r.status_code == 403
    r = await anon.post("/team/invite", data={**invite, "csrf_token": "ünïcode"})
    assert r.status_code == 403
    assert "csrf-victim@example.com" not in (await anon.get("/team")).text
    # The same request with the session's token, as a header (what htmx sends), goes through.
    r = await anon.post("/team/invite", data=invite, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201
    assert "csrf-victim@example.com" in (await anon.get("/team")).text


async def test_csrf_token_of_another_session_is_refused(
    anon: httpx.AsyncClient, app: FastAPI, factory: Factory
) -> None:
    org = await factory.org()
    other = await factory.org()
    await sign_in(anon, org.owner_email)
    async with client_for(app) as second:
        their_csrf = await sign_in(second, other.owner_email)
    r = await anon.post("/api-keys", data={"name": "k", "role": "member", "csrf_token": their_csrf})
    assert r.status_code == 403


async def test_stakeholder_sees_no_write_controls_and_every_write_is_refused(
    anon: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    org = await factory.org()
    email = await add_person(database, org, "stakeholder")
    csrf = await sign_in(anon, email)
    team = (await anon.get("/team")).text
    assert email in team
    assert 'id="invite-form"' not in team
    assert "/remove" not in team and "/role" not in team
    keys = (await anon.get("/api-keys")).text
    assert 'id="key-form"' not in keys
    writes = {
        "/team/invite": {"email": "x@example.com", "role": "stakeholder"},
        "/api-keys": {"name": "mine", "role": "stakeholder"},
        f"/team/members/{org.org_id}/remove": {},
        f"/team/invitations/{org.org_id}/revoke": {},
    }
    for path, data in writes.items():
        r = await anon.post(path, data={**data, "csrf_token": csrf})
        assert r.status_code == 403, path
        assert "read-only" in r.text, path
    # Switching organisation and signing out are not writes to organisation data.
    r = await anon.post("/org/switch", data={"org_id": str(org.org_id), "csrf_token": csrf})
    assert r.status_code == 303
    r = await anon.post("/logout", data={"csrf_token": csrf})
    assert r.status_code == 303


async def test_member_cannot_read_the_audit_log(
    anon: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    org = await factory.org()
    email = await add_person(database, org, "member")
    await sign_in(anon, email)
    r = await anon.get("/audit", headers={"Accept": "text/html"})
    assert r.status_code == 403
    assert "only owners and admins read the audit log" in r.text
    assert "<nav" in r.text  # the error page keeps the signed-in layout


async def test_audit_log_pages_back_with_an_older_link(
    anon: httpx.AsyncClient, factory: Factory
) -> None:
    org = await factory.org()
    csrf = await sign_in(anon, org.owner_email)
    for n in range(51):  # one more than a page
        r = await anon.post(
            "/api-keys", data={"name": f"k{n}", "role": "member", "csrf_token": csrf}
        )
        assert r.status_code == 201
    first = (await anon.get("/audit")).text
    assert first.count("api_key.created") == 50
    assert "org.created" not in first
    older = first.split('href="/audit?before=', 1)[1].split('"', 1)[0]
    second = (await anon.get(f"/audit?before={older}")).text
    assert second.count("api_key.created") == 1
    assert "org.created" in second
    r = await anon.get("/audit?before=garbage", headers={"Accept": "text/html"})
    assert r.status_code == 422


async def test_staff_console_is_refused_to_non_staff(
    anon: httpx.AsyncClient, factory: Factory
) -> None:
    org = await factory.org()
    csrf = await sign_in(anon, org.owner_email)
    assert "Staff console" not in (await anon.get("/plan")).text
    for path in ("/staff", "/staff/plans", f"/staff/orgs/{org.org_id}"):
        r = await anon.get(path, headers={"Accept": "text/html"})
        assert r.status_code == 403, path
    r = await anon.post("/staff/plans/lean", data={"max_servers": "99", "csrf_token": csrf})
    assert r.status_code == 403


async def test_staff_plan_edit_shows_bad_numbers_inline(
    anon: httpx.AsyncClient, factory: Factory
) -> None:
    org = await factory.org(staff=True)
    csrf = await sign_in(anon, org.owner_email)
    r = await anon.post("/staff/plans/preview", data={"max_servers": "lots", "csrf_token": csrf})
    assert r.status_code == 422
    assert "max_servers: must be a whole number of 0 or more" in r.text
    assert 'id="plan-preview"' in r.text
    r = await anon.post("/staff/plans/preview", data={"max_servers": "-1", "csrf_token": csrf})
    assert r.status_code == 422
    assert "max_servers: must be a whole number of 0 or more" in r.text
    r = await anon.post(
        "/staff/plans/preview", data={"auto_remediation": "maybe", "csrf_token": csrf}
    )
    assert r.status_code == 422
    assert "auto_remediation: must be true or false" in r.text
