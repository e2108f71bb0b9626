"""The notifications API and pages: channels with sealed secrets, tests, the delivery log, the
bell, the staff email outbox."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import Factory, bearer
from tests.fakes.notify_services import FakeServices, ServicesServer
from tests.web.dashboard.conftest import client_for, sign_in
from vixpro.notify import dispatch
from vixpro.notify.events import EventKind
from vixpro.notify.outbox import emit
from vixpro.web.state import AppState


@pytest.fixture(scope="module")
def services() -> Iterator[FakeServices]:
    with ServicesServer() as fake:
        yield fake


async def test_a_channel_secret_is_shown_only_as_its_last_four_characters(
    client: httpx.AsyncClient, factory: Factory, services: FakeServices
) -> None:
    org = await factory.org()
    key = await factory.api_key(org, "admin")
    url = services.slack_url()
    created = await client.post(
        "/api/v1/notification-channels",
        headers=bearer(key),
        json={"kind": "slack", "name": "#ops", "secret": {"webhook_url": url}},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret_hint"] == url[-4:] and url not in created.text
    assert body["events"][:3] == ["incident.opened", "incident.acknowledged", "incident.resolved"]
    listed = await client.get("/api/v1/notification-channels", headers=bearer(key))
    assert url not in listed.text and listed.json()[0]["id"] == body["id"]
    tested = await client.post(
        f"/api/v1/notification-channels/{body['id']}/test", headers=bearer(key)
    )
    assert tested.status_code == 200 and tested.json()["ok"] is True
    attempt = tested.json()["delivery"]["attempts"][0]
    assert (attempt["status"], attempt["response"]) == (200, "ok")
    assert services.of("slack")[-1].json["text"].startswith("Test notification from VixPro")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "carrier-pigeon", "name": "x"}, "kind"),
        (
            {"kind": "slack", "name": "x", "secret": {"webhook_url": "not a url"}},
            "secret.webhook_url",
        ),
        ({"kind": "slack", "name": "x", "secret": {}}, "secret.webhook_url"),
        (
            {"kind": "twilio", "name": "x", "config": {"account_sid": "nope"}, "secret": {}},
            "config.account_sid",
        ),
        ({"kind": "email", "name": "x", "config": {"to": ["not-an-address"]}}, "config.to"),
        ({"kind": "bell", "name": "x", "events": ["incident.exploded"]}, "events"),
    ],
)
async def test_bad_channel_settings_are_refused_naming_the_field(
    client: httpx.AsyncClient, factory: Factory, body: dict[str, object], field: str
) -> None:
    org = await factory.org()
    key = await factory.api_key(org, "admin")
    r = await client.post("/api/v1/notification-channels", headers=bearer(key), json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["field"] == field
    assert "not a url" not in r.text  # the input (maybe a secret) is never echoed


async def test_only_owners_and_admins_manage_channels(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    org = await factory.org()
    member = await factory.api_key(org, "member")
    stakeholder = await factory.api_key(org, "stakeholder")
    body = {"kind": "bell", "name": "bell"}
    assert (
        await client.post("/api/v1/notification-channels", headers=bearer(member), json=body)
    ).status_code == 403
    assert (
        await client.post("/api/v1/notification-channels", headers=bearer(stakeholder), json=body)
    ).status_code == 403
    assert (
        await client.get("/api/v1/notification-channels", headers=bearer(stakeholder))
    ).status_code == 200


async def test_the_bell_belongs_to_people_not_api_keys(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    org = await factory.org()
    key = await factory.api_key(org, "admin")
    r = await client.get("/api/v1/bell", headers=bearer(key))
    assert r.status_code == 403 and "API keys" in r.json()["detail"]


async def test_pages_add_a_channel_send_a_test_ring_the_bell_and_mark_it_read(
    app: FastAPI, factory: Factory, services: FakeServices
) -> None:
    org = await factory.org()
    async with client_for(app) as browser:
        csrf = await sign_in(browser, org.owner_email)
        page = await browser.get("/notifications")
        assert page.status_code == 200 and "Add a channel" in page.text
        assert "Email is not configured" in page.text
        url = f"{services.url}/discord/api/webhooks/1/{uuid.uuid4().hex}"
        added = await browser.post(
            "/notifications/channels",
            data={
                "csrf_token": csrf,
                "kind": "discord",
                "name": "Discord ops",
                "discord.webhook_url": url,
                "events": ["incident.opened"],
            },
        )
        assert added.status_code == 303
        page = await browser.get("/notifications")
        assert "Discord ops" in page.text and f"…{url[-4:]}" in page.text and url not in page.text
        bell_added = await browser.post(
            "/notifications/channels", data={"csrf_token": csrf, "kind": "bell", "name": "Bell"}
        )
        assert bell_added.status_code == 303
        api = (await browser.get("/api/v1/notification-channels")).json()
        ids = {c["name"]: c["id"] for c in api}
        tested = await browser.post(
            f"/notifications/channels/{ids['Discord ops']}/test", data={"csrf_token": csrf}
        )
        assert (
            tested.status_code == 200 and "delivered" in tested.text and "HTTP 204" in tested.text
        )
        await browser.post(f"/notifications/channels/{ids['Bell']}/test", data={"csrf_token": csrf})
        count = await browser.get("/bell/count")
        assert 'data-unread="1"' in count.text
        listed = await browser.get("/bell")
        assert "Test notification from VixPro to Bell" in listed.text
        assert (await browser.get("/api/v1/bell/unread")).json() == {"unread": 1}
        await browser.post("/bell/read-all", data={"csrf_token": csrf})
        assert 'data-unread="0"' in (await browser.get("/bell/count")).text
        log = await browser.get("/notifications")
        assert log.text.count('class="delivery"') == 2


async def test_the_staff_console_shows_the_email_outbox(
    app: FastAPI, factory: Factory, client: httpx.AsyncClient
) -> None:
    staff = await factory.org(staff=True)
    plain = await factory.org()
    key = await factory.api_key(plain, "admin")
    channel = await client.post(
        "/api/v1/notification-channels",
        headers=bearer(key),
        json={"kind": "email", "name": "mail", "config": {"to": ["ops@example.com"]}},
    )
    tested = await client.post(
        f"/api/v1/notification-channels/{channel.json()['id']}/test", headers=bearer(key)
    )
    assert tested.json()["ok"] is True and tested.json()["email_configured"] is False
    async with client_for(app) as browser:
        await sign_in(browser, staff.owner_email)
        page = await browser.get("/staff/email-outbox")
        assert page.status_code == 200
        assert (
            "ops@example.com" in page.text and "Test notification from VixPro to mail" in page.text
        )
    async with client_for(app) as browser:
        await sign_in(browser, plain.owner_email)
        assert (await browser.get("/staff/email-outbox")).status_code == 403


async def test_staff_see_what_any_organisation_addresses_to_staff_on_their_bell(
    app: FastAPI, factory: Factory, state: AppState
) -> None:
    staff = await factory.org(staff=True)
    customer = await factory.org()
    async with state.db.tenant_session(customer.org_id) as session:
        await emit(
            session,
            customer.org_id,
            EventKind.TICKET_REPLY,
            "Customer opened a ticket",
            data={"audience": "staff"},
        )
    async with state.db.system_session("test: dispatch") as session:
        await dispatch.dispatch(session)
    async with client_for(app) as browser:
        csrf = await sign_in(browser, staff.owner_email)
        listed = await browser.get("/bell")
        assert "Customer opened a ticket" in listed.text
        await browser.post("/bell/read-all", data={"csrf_token": csrf})
        assert 'data-unread="0"' in (await browser.get("/bell/count")).text
    async with client_for(app) as browser:  # the customer's own owner is not staff: not theirs
        await sign_in(browser, customer.owner_email)
        assert "Customer opened a ticket" not in (await browser.get("/bell")).text
