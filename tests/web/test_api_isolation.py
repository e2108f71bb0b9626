"""Every API route with an id in its path answers 404 for another organisation's ids.

Routes are enumerated from the app, so routes added later are covered; a route whose id
parameter has no entry in ``_other_org_ids`` fails the test and says so.
"""

from __future__ import annotations

import base64
import re
import uuid
from typing import Any

import httpx
import pytest
from vixpro_agent.protocol import signing

from tests.conftest import Factory, bearer
from vixpro.db.action_items import raise_action_item
from vixpro.web.app import create_app
from vixpro.web.state import AppState

PARAM = re.compile(r"{(\w+)}")
ID_PARAM = re.compile(r"{\w+_id}")


async def _other_org_ids(client: httpx.AsyncClient, key: str) -> dict[str, str]:
    """Ids of real resources in the *other* organisation, by path-parameter name."""
    members = (await client.get("/api/v1/members", headers=bearer(key))).json()["items"]
    invitation = await client.post(
        "/api/v1/invitations",
        headers=bearer(key),
        json={"email": f"p-{uuid.uuid4().hex[:6]}@example.com", "role": "member"},
    )
    keys = (await client.get("/api/v1/api-keys", headers=bearer(key))).json()["items"]
    token = (await client.post("/api/v1/servers/enrollment-tokens", headers=bearer(key))).json()
    public = signing.public_pem(signing.generate_private_key())
    enrolled = await client.post(
        "/api/v1/hostagent/enroll",
        json={"token": token["token"], "public_key": public, "facts": {"hostname": "theirs"}},
    )
    server_id = enrolled.json()["server_id"]
    await client.patch("/api/v1/tools/restart_service", headers=bearer(key), json={"enabled": True})
    run = await client.post(
        f"/api/v1/servers/{server_id}/tools/restart_service/run",
        headers=bearer(key),
        json={"params": {"unit": "nginx.service"}},
    )
    integration = await client.post(
        "/api/v1/integrations", headers=bearer(key), json={"source": "alertmanager", "name": "x"}
    )
    test_alert = await client.post(
        f"/api/v1/integrations/{integration.json()['id']}/test", headers=bearer(key)
    )
    incident_id = test_alert.json()["incident_ids"][0]
    incident = await client.get(f"/api/v1/incidents/{incident_id}", headers=bearer(key))
    window = await client.post(
        "/api/v1/maintenance-windows",
        headers=bearer(key),
        json={
            "reason": "theirs",
            "starts_at": "2030-01-01T00:00:00Z",
            "ends_at": "2030-01-01T01:00:00Z",
            "scope": "all",
        },
    )
    rejected = await client.post(
        integration.json()["webhook_url"].replace("http://testserver", ""), content=b"nope"
    )
    channel = await client.post(
        "/api/v1/notification-channels",
        headers=bearer(key),
        json={"kind": "bell", "name": "theirs"},
    )
    tested = await client.post(
        f"/api/v1/notification-channels/{channel.json()['id']}/test", headers=bearer(key)
    )
    return {
        "channel_id": channel.json()["id"],
        "delivery_id": tested.json()["delivery"]["id"],
        # The bell test above rang their owner: the first bell row of this fresh database.
        "notification_id": "1",
        "integration_id": integration.json()["id"],
        "incident_id": incident_id,
        "alert_id": incident.json()["alerts"][0]["id"],
        "window_id": window.json()["id"],
        "payload_id": rejected.json()["rejected_id"],
        "member_id": members[0]["id"],
        "invitation_id": invitation.json()["id"],
        "key_id": keys[0]["id"],
        "server_id": server_id,
        "execution_id": run.json()["id"],
        "approval_id": run.json()["approval"]["id"],
        "tool": "load_uptime",
    }


async def _support_ids(
    client: httpx.AsyncClient, key: str, state: AppState, org_id: uuid.UUID
) -> dict[str, str]:
    """A ticket with a screenshot, and an action item (raised as a failing tool raises one)."""
    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
    )
    ticket = await client.post(
        "/api/v1/tickets",
        headers=bearer(key),
        data={"subject": "theirs", "body": "theirs"},
        files=[("files", ("theirs.png", png, "image/png"))],
    )
    async with state.db.tenant_session(org_id) as session:
        item = await raise_action_item(session, org_id, "load_uptime", "crashed", "x", "x")
    return {
        "ticket_id": ticket.json()["id"],
        "attachment_id": ticket.json()["messages"][0]["attachments"][0]["id"],
        "action_item_id": str(item.id),
    }


async def _chat_ids(client: httpx.AsyncClient, key: str) -> dict[str, str]:
    conversation = await client.post(
        "/api/v1/chat/conversations", headers=bearer(key), json={"title": "theirs"}
    )
    return {"conversation_id": conversation.json()["id"]}


async def _ai_ids(client: httpx.AsyncClient, key: str) -> dict[str, str]:
    provider = await client.post(
        "/api/v1/ai/providers",
        headers=bearer(key),
        json={"kind": "openai", "label": "theirs", "api_key": "sk-theirs-1234"},
    )
    return {"provider_id": provider.json()["id"]}


def _valid_body(method: str, template: str) -> dict[str, Any] | None:
    """A body that passes validation, so that the answer is about the id, not the body."""
    if method not in ("PATCH", "PUT", "POST"):
        return None
    for suffix, body in (
        ("/run", {"params": {}}),
        ("/decision", {"approve": False}),
        ("/servers/{server_id}", {"name": "renamed"}),
        ("/integrations/{integration_id}", {"name": "renamed"}),
        ("/notification-channels/{channel_id}", {"name": "renamed"}),
        ("/actions", {"action": "acknowledge"}),
        ("/assignee", {"assignee_id": None}),
        ("/comments", {"body": "mine"}),
        ("/review", {"fixed": True}),
        ("/messages", {"message": "mine"}),
        ("/ai/providers/{provider_id}", {"label": "renamed"}),
        ("/ai/providers/{provider_id}/test", {"model": "gpt-6.1-sol"}),
    ):
        if template.endswith(suffix):
            return body
    return {"role": "member"}


def _api_routes(state: AppState) -> list[tuple[str, str]]:
    """(method, path template) of every documented API operation with an id in its path."""
    paths = create_app(state).openapi()["paths"]
    return [
        (method.upper(), path)
        for path, operations in paths.items()
        if ID_PARAM.search(path) and not path.startswith("/api/v1/staff/")
        for method in operations
    ]


async def test_every_id_route_hides_other_orgs_rows(client, factory: Factory, state) -> None:
    mine, theirs = await factory.org(), await factory.org()
    my_key = await factory.api_key(mine, "admin")
    their_key = await factory.api_key(theirs, "admin")
    ids = await _other_org_ids(client, their_key)
    ids |= await _support_ids(client, their_key, state, theirs.org_id)
    ids |= await _chat_ids(client, their_key)
    ids |= await _ai_ids(client, their_key)
    routes = _api_routes(state)
    assert routes, "no id routes found"
    checked = 0
    for method, template in routes:
        names = PARAM.findall(template)
        missing = [n for n in names if n not in ids]
        assert not missing, f"add ids for {missing} ({template}) to _other_org_ids"
        path = PARAM.sub(lambda m: ids[m.group(1)], template)
        body = _valid_body(method, template)
        r = await client.request(method, path, headers=bearer(my_key), json=body)
        assert r.status_code == 404, f"{method} {template} answered {r.status_code}"
        assert r.headers["content-type"].startswith("application/problem+json")
        checked += 1
    assert checked >= 6
    # ... and the other org's resources are untouched.
    still = await client.get(f"/api/v1/api-keys/{ids['key_id']}", headers=bearer(their_key))
    assert still.status_code == 200 and still.json()["revoked_at"] is None


@pytest.mark.parametrize("path", ["/api/v1/members/{}", "/api/v1/api-keys/{}"])
async def test_unknown_ids_look_like_other_orgs_ids(client, factory: Factory, path: str) -> None:
    org = await factory.org()
    key = await factory.api_key(org)
    r = await client.get(path.format(uuid.uuid4()), headers=bearer(key))
    assert r.status_code == 404
