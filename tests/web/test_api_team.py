"""Team management through the API: invitations, seats, roles, keys, the audit trail."""

from __future__ import annotations

import uuid

import httpx

from tests.conftest import Factory, bearer


def _email() -> str:
    return f"p-{uuid.uuid4().hex[:8]}@example.com"


async def _invite(
    client: httpx.AsyncClient, key: str, role: str, email: str | None = None
) -> httpx.Response:
    return await client.post(
        "/api/v1/invitations", json={"email": email or _email(), "role": role}, headers=bearer(key)
    )


def _token(accept_url: str) -> str:
    return accept_url.rsplit("/", 1)[1]


async def test_invite_and_accept_makes_a_member(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    org = await factory.org("lean")
    key = await factory.api_key(org)
    email = _email()
    invited = await _invite(client, key, "member", email)
    assert invited.status_code == 201, invited.text
    body = invited.json()
    assert body["accept_url"].startswith("http://127.0.0.1:8000/invite/")
    pending = (await client.get("/api/v1/invitations", headers=bearer(key))).json()["items"]
    assert [p["email"] for p in pending] == [email]
    accepted = await client.post(
        "/api/v1/invitations/accept",
        json={
            "token": _token(body["accept_url"]),
            "password": "a long enough password",
            "display_name": "Pat",
        },
    )
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["org_id"] == str(org.org_id)
    members = (await client.get("/api/v1/members", headers=bearer(key))).json()["items"]
    assert {m["email"]: m["role"] for m in members} == {org.owner_email: "owner", email: "member"}
    assert (await client.get("/api/v1/invitations", headers=bearer(key))).json()["items"] == []
    # A token works once.
    again = await client.post(
        "/api/v1/invitations/accept",
        json={"token": _token(body["accept_url"]), "password": "a long enough password"},
    )
    assert again.status_code == 404


async def test_team_member_seats_are_enforced_on_invite(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    org = await factory.org("starter")  # 2 team members, 2 stakeholder seats
    key = await factory.api_key(org)
    assert (await _invite(client, key, "admin")).status_code == 201
    refused = await _invite(client, key, "member")
    assert refused.status_code == 403
    problem = refused.json()
    assert problem["limit"] == "team members" and problem["plan"] == "starter"
    assert problem["usage"] == 2 and problem["maximum"] == 2
    assert "Starter plan allows 2 team members" in problem["detail"]
    # Stakeholder seats are counted separately.
    assert (await _invite(client, key, "stakeholder")).status_code == 201
    assert (await _invite(client, key, "stakeholder")).status_code == 201
    third = await _invite(client, key, "stakeholder")
    assert third.status_code == 403 and third.json()["limit"] == "stakeholder seats"


async def test_seats_are_checked_again_on_accept(
    client: httpx.AsyncClient, factory: Factory, state
) -> None:
    org = await factory.org("starter")
    key = await factory.api_key(org)
    invited = (await _invite(client, key, "member")).json()
    async with state.db.system_session("test: downgrade") as session:
        from vixpro.accounts import orgs
        from vixpro.accounts.principal import CLI

        await orgs.set_plan(
            session, CLI, await orgs.get(session, org.org_id), "preview"
        )  # 1 member
    r = await client.post(
        "/api/v1/invitations/accept",
        json={"token": _token(invited["accept_url"]), "password": "a long enough password"},
    )
    assert r.status_code == 403 and r.json()["limit"] == "team members"


async def test_duplicate_invitations_and_members_conflict(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    org = await factory.org()
    key = await factory.api_key(org)
    email = _email()
    assert (await _invite(client, key, "member", email)).status_code == 201
    assert (await _invite(client, key, "member", email)).status_code == 409
    assert (await _invite(client, key, "member", org.owner_email)).status_code == 409


async def test_admin_key_cannot_make_owners(client: httpx.AsyncClient, factory: Factory) -> None:
    org = await factory.org()
    key = await factory.api_key(org, "admin")
    assert (await _invite(client, key, "owner")).status_code == 403
    owner = (await client.get("/api/v1/members", headers=bearer(key))).json()["items"][0]
    r = await client.patch(
        f"/api/v1/members/{owner['id']}", json={"role": "member"}, headers=bearer(key)
    )
    assert r.status_code == 403


async def test_role_change_and_removal(client: httpx.AsyncClient, factory: Factory) -> None:
    org = await factory.org()
    key = await factory.api_key(org)
    invited = (await _invite(client, key, "member")).json()
    await client.post(
        "/api/v1/invitations/accept",
        json={"token": _token(invited["accept_url"]), "password": "a long enough password"},
    )
    member = next(
        m
        for m in (await client.get("/api/v1/members", headers=bearer(key))).json()["items"]
        if m["role"] == "member"
    )
    r = await client.patch(
        f"/api/v1/members/{member['id']}", json={"role": "stakeholder"}, headers=bearer(key)
    )
    assert r.status_code == 200 and r.json()["role"] == "stakeholder"
    r = await client.patch(
        f"/api/v1/members/{member['id']}", json={"role": "boss"}, headers=bearer(key)
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "role"
    assert (
        await client.delete(f"/api/v1/members/{member['id']}", headers=bearer(key))
    ).status_code == 204
    assert (
        await client.get(f"/api/v1/members/{member['id']}", headers=bearer(key))
    ).status_code == 404


async def test_last_owner_cannot_be_removed(
    client: httpx.AsyncClient, factory: Factory, state
) -> None:
    from vixpro.accounts import members
    from vixpro.accounts.errors import Conflict
    from vixpro.accounts.plans import org_plan
    from vixpro.accounts.principal import Principal
    from vixpro.core.roles import Role

    org = await factory.org()
    async with state.db.tenant_session(org.org_id, user_id=org.owner_id) as session:
        plan = await org_plan(session, org.org_id)
        principal = Principal(
            kind="user",
            org_id=org.org_id,
            org_name=org.name,
            role=Role.OWNER,
            plan=plan,
            label=org.owner_email,
            user_id=org.owner_id,
        )
        ((membership, _),) = await members.list_members(session)
        try:
            await members.remove(session, principal, membership.id)
        except Conflict as exc:
            assert "at least one owner" in str(exc)
        else:
            raise AssertionError("the last owner was removed")


async def test_api_keys_are_hashed_shown_once_and_audited(
    client: httpx.AsyncClient, factory: Factory, db_urls
) -> None:
    import psycopg

    from vixpro.db.urls import libpq_url

    org = await factory.org()
    key = await factory.api_key(org)
    created = (
        await client.post(
            "/api/v1/api-keys", json={"name": "deploy", "role": "member"}, headers=bearer(key)
        )
    ).json()
    secret = created["key"]
    assert secret.startswith(f"vxp_{created['prefix']}_")
    listed = (await client.get(f"/api/v1/api-keys/{created['id']}", headers=bearer(key))).json()
    assert "key" not in listed
    with psycopg.connect(libpq_url(db_urls.owner)) as conn:
        dump = conn.execute("SELECT row_to_json(k)::text FROM api_keys k").fetchall()
    assert all(secret.split("_", 2)[2] not in row[0] for row in dump)
    events = (await client.get("/api/v1/audit-events", headers=bearer(key))).json()["items"]
    actions = [e["action"] for e in events]
    assert actions[0] == "api_key.created" and "org.created" in actions
    assert secret not in str(events)


async def test_org_rename_and_plan_usage(client: httpx.AsyncClient, factory: Factory) -> None:
    org = await factory.org("lean")
    key = await factory.api_key(org)
    r = await client.patch(
        "/api/v1/org", json={"name": f"renamed-{uuid.uuid4().hex[:6]}"}, headers=bearer(key)
    )
    assert r.status_code == 200
    usage = (await client.get("/api/v1/plan", headers=bearer(key))).json()
    assert usage["plan"]["code"] == "lean" and usage["plan"]["max_servers"] == 3
    assert usage["usage"]["team_members"] == 1
    assert usage["usage"]["api_requests_this_hour"] == 2  # the PATCH and this GET
