"""The integrations, incidents, rejected payloads, maintenance and incident settings pages over
plain HTTP, on the same services as the API (alerts arrive through real webhook URLs)."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import Factory, OrgInfo
from tests.incidents.helpers import am_alert, am_body, enrol_server, path_of
from tests.web.dashboard.conftest import add_person, client_for, sign_in
from vixpro.db.sessions import Database
from vixpro.ingest.registry import sources
from vixpro.web.dashboard.integrations import DOCS_DIR
from vixpro.web.state import AppState

WEBHOOK = re.compile(r'class="mono webhook-url" type="text" readonly value="([^"]+)"')
INCIDENT_LINK = re.compile(r'href="/incidents/([0-9a-f-]{36})"')


@asynccontextmanager
async def _signed_in(app: FastAPI, email: str) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    async with client_for(app) as client:
        yield client, await sign_in(client, email)


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


async def _add_integration(
    client: httpx.AsyncClient, csrf: str, name: str = "Prod Prometheus", **extra: str
) -> tuple[str, str]:
    """Add an Alertmanager integration from the page; returns (its id, its webhook URL)."""
    r = await client.post(
        "/integrations",
        data={"csrf_token": csrf, "source": "alertmanager", "name": name, **extra},
    )
    assert r.status_code == 303, r.text
    page = await client.get("/integrations")
    assert f"Added {name}." in _text(page.text)  # the flash after the redirect
    row = re.search(
        rf'id="integration-([0-9a-f-]+)" data-integration="[^"]+" data-name="{re.escape(name)}"',
        page.text,
    )
    assert row, page.text
    url = re.search(
        rf'id="url-{row[1]}" class="mono webhook-url" type="text" readonly value="([^"]+)"',
        page.text,
    )
    assert url
    return row[1], html.unescape(url[1])


async def _fire(app: FastAPI, url: str, *alerts: dict[str, object]) -> httpx.Response:
    """What a monitoring tool does: POST to the webhook URL, no session."""
    async with client_for(app) as tool:
        return await tool.post(
            path_of(url), content=am_body(*alerts), headers={"content-type": "application/json"}
        )


async def _incident_of(client: httpx.AsyncClient, title: str) -> str:
    page = await client.get("/incidents")
    match = re.search(rf'href="/incidents/([0-9a-f-]{{36}})">{re.escape(title)}</a>', page.text)
    assert match, page.text
    return match[1]


# ---- integrations ---------------------------------------------------------------------------


async def test_owner_adds_an_integration_sees_its_webhook_url_and_sends_a_test_alert(
    app: FastAPI, factory: Factory
) -> None:
    org = await factory.org()
    async with _signed_in(app, org.owner_email) as (client, csrf):
        page = await client.get("/integrations")
        assert page.status_code == 200
        assert "No integrations yet." in page.text and 'id="add-integration-form"' in page.text
        for value, title in sources():
            assert f'<option value="{value}"' in page.text and html.escape(title) in page.text

        # Without the CSRF token the form is refused.
        r = await client.post("/integrations", data={"source": "alertmanager", "name": "x"})
        assert r.status_code == 403
        assert "this form has expired" in r.text

        integration_id, url = await _add_integration(client, csrf)
        assert url.startswith("http://testserver/api/v1/webhooks/vxw_")
        page = await client.get("/integrations")
        assert 'data-copy="#url-' in page.text
        assert "Prometheus Alertmanager" in page.text

        r = await client.post(f"/integrations/{integration_id}/test", data={"csrf_token": csrf})
        assert r.status_code == 200, r.text
        assert "Test alert sent through Prod Prometheus" in _text(r.text)
        link = INCIDENT_LINK.search(r.text.split('id="test-result"', 1)[1])
        assert link, r.text
        incident = await client.get(f"/incidents/{link[1]}")
        assert incident.status_code == 200
        assert 'id="alerts"' in incident.text and "alertmanager" in incident.text
        listed = await client.get("/integrations")
        assert re.search(r'class="num alerts-received">1<', listed.text)


async def test_bad_integration_input_is_shown_next_to_the_form(
    app: FastAPI, factory: Factory
) -> None:
    org = await factory.org()
    async with _signed_in(app, org.owner_email) as (client, csrf):
        r = await client.post(
            "/integrations", data={"csrf_token": csrf, "source": "nagios-9000", "name": "N"}
        )
        assert r.status_code == 422
        assert "source: unknown source 'nagios-9000'" in _text(r.text)
        assert 'id="add-integration-form"' in r.text
        r = await client.post(
            "/integrations",
            data={
                "csrf_token": csrf,
                "source": "alertmanager",
                "name": "Kept name",
                "signing_secret": "short",
            },
        )
        assert r.status_code == 422
        assert "signing_secret: must be at least 16 characters" in _text(r.text)
        assert 'value="Kept name"' in r.text  # what was typed survives the error
        r = await client.post(
            "/integrations", data={"csrf_token": csrf, "source": "alertmanager", "name": " "}
        )
        assert r.status_code == 422 and "name: must be 1 to 120 characters" in _text(r.text)


async def test_generic_source_takes_its_field_mapping_as_json_options(
    app: FastAPI, factory: Factory
) -> None:
    org = await factory.org()
    async with _signed_in(app, org.owner_email) as (client, csrf):
        page = await client.get("/integrations")
        assert 'data-for-source="generic"' in page.text
        form = {"csrf_token": csrf, "source": "generic", "name": "Homegrown"}
        r = await client.post("/integrations", data={**form, "options": "{not json"})
        assert r.status_code == 422 and "options: is not valid JSON" in _text(r.text)
        assert "{not json" in r.text  # kept in the textarea
        r = await client.post("/integrations", data={**form, "options": "[1, 2]"})
        assert r.status_code == 422 and "options: must be a JSON object" in _text(r.text)
        r = await client.post("/integrations", data={**form, "options": '{"colour": "red"}'})
        assert r.status_code == 422 and "unknown option 'colour'" in _text(r.text)
        r = await client.post(
            "/integrations",
            data={**form, "options": '{"alerts": "data.items", "fields": {"title": "summary"}}'},
        )
        assert r.status_code == 303, r.text
        page = await client.get("/integrations")
        assert "Added Homegrown." in _text(page.text) and "Generic JSON webhook" in page.text
        integration_id = re.search(
            r'data-integration="([0-9a-f-]+)" data-name="Homegrown"', page.text
        )
        assert integration_id
        # The test alert follows the mapping, and opens an incident.
        r = await client.post(f"/integrations/{integration_id[1]}/test", data={"csrf_token": csrf})
        assert r.status_code == 200, r.text
        assert INCIDENT_LINK.search(r.text.split('id="test-result"', 1)[1])


async def test_rotate_disable_secret_and_remove_change_what_the_webhook_accepts(
    app: FastAPI, factory: Factory
) -> None:
    org = await factory.org()
    alert = am_alert("DiskFull", "db-1:9100")
    async with _signed_in(app, org.owner_email) as (client, csrf):
        integration_id, url = await _add_integration(client, csrf)
        assert (await _fire(app, url, alert)).status_code == 202

        r = await client.post(f"/integrations/{integration_id}/rotate", data={"csrf_token": csrf})
        assert r.status_code == 303
        page = await client.get("/integrations")
        assert "has a new webhook URL" in _text(page.text)
        new_url = html.unescape(WEBHOOK.findall(page.text)[0])
        assert new_url != url
        assert (await _fire(app, url, alert)).status_code == 404
        assert (await _fire(app, new_url, alert)).status_code == 202

        r = await client.post(
            f"/integrations/{integration_id}/enabled", data={"csrf_token": csrf, "enabled": "false"}
        )
        assert r.status_code == 303
        page = await client.get("/integrations")
        assert "is disabled" in _text(page.text) and ">Enable</button>" in page.text
        assert (await _fire(app, new_url, alert)).status_code != 202
        await client.post(
            f"/integrations/{integration_id}/enabled", data={"csrf_token": csrf, "enabled": "true"}
        )

        r = await client.post(f"/integrations/{integration_id}/secret", data={"csrf_token": csrf})
        assert r.status_code == 422 and "enter the secret, or clear it" in _text(r.text)
        r = await client.post(
            f"/integrations/{integration_id}/secret",
            data={"csrf_token": csrf, "signing_secret": "s" * 20},
        )
        assert r.status_code == 303
        page = await client.get("/integrations")
        assert "now checks its signing secret" in _text(page.text)
        assert ">signing secret</span>" in page.text and "Clear secret" in page.text
        r = await client.post(
            f"/integrations/{integration_id}/secret", data={"csrf_token": csrf, "clear": "1"}
        )
        assert r.status_code == 303
        page = await client.get("/integrations")
        assert "no longer checks a signing secret" in _text(page.text)
        assert ">signing secret</span>" not in page.text

        r = await client.post(f"/integrations/{integration_id}/remove", data={"csrf_token": csrf})
        assert r.status_code == 303
        page = await client.get("/integrations")
        assert "Removed Prod Prometheus" in _text(page.text) and "No integrations yet." in page.text
        assert (await _fire(app, new_url, alert)).status_code == 404


async def test_setup_pages_show_each_sources_docs_or_where_to_find_them(
    app: FastAPI, factory: Factory
) -> None:
    org = await factory.org()
    async with _signed_in(app, org.owner_email) as (client, _):
        for source, title in sources():
            page = await client.get(f"/integrations/docs/{source}")
            assert page.status_code == 200
            assert f"{html.escape(title)} setup" in page.text
            doc = DOCS_DIR / f"{source}.md"
            if doc.is_file():
                first = doc.read_text().strip().splitlines()[0]
                assert html.escape(first) in page.text
            else:
                assert f"docs/integrations/{source}.md" in page.text
        assert (await client.get("/integrations/docs/..%2f..%2fpyproject")).status_code == 404
        assert (await client.get("/integrations/docs/not-a-source")).status_code == 404


async def test_stakeholders_read_integrations_without_buttons_and_members_only_test(
    app: FastAPI, state: AppState, factory: Factory, database: Database
) -> None:
    org = await factory.org()
    stakeholder = await add_person(database, org, "stakeholder")
    member = await add_person(database, org, "member")
    async with _signed_in(app, org.owner_email) as (client, csrf):
        integration_id, url = await _add_integration(client, csrf)
    async with _signed_in(app, stakeholder) as (client, csrf):
        page = await client.get("/integrations")
        assert page.status_code == 200 and "Prod Prometheus" in page.text
        assert url in html.unescape(page.text)
        table = page.text.split('id="integrations"', 1)[1].split("</table>", 1)[0]
        assert "<form" not in table
        for text in ("Send test alert", "Rotate URL", "Remove", "Add integration", "Set secret"):
            assert text not in page.text
        for path, data in [
            ("/integrations", {"source": "alertmanager", "name": "x"}),
            (f"/integrations/{integration_id}/test", {}),
            (f"/integrations/{integration_id}/rotate", {}),
            (f"/integrations/{integration_id}/enabled", {"enabled": "false"}),
            (f"/integrations/{integration_id}/secret", {"clear": "1"}),
            (f"/integrations/{integration_id}/remove", {}),
        ]:
            r = await client.post(path, data={**data, "csrf_token": csrf})
            assert r.status_code == 403, path
            assert "the stakeholder role is read-only" in r.text
    async with _signed_in(app, member) as (client, csrf):
        page = await client.get("/integrations")
        assert "Send test alert" in page.text and "Rotate URL" not in page.text
        assert 'id="add-integration-form"' not in page.text
        r = await client.post(f"/integrations/{integration_id}/test", data={"csrf_token": csrf})
        assert r.status_code == 200 and 'id="test-result"' in r.text
        r = await client.post(f"/integrations/{integration_id}/rotate", data={"csrf_token": csrf})
        assert r.status_code == 403
        assert "only owners and admins manage integrations" in r.text


# ---- incidents ------------------------------------------------------------------------------


async def test_incident_list_shows_webhook_alerts_and_filters_them(
    app: FastAPI, state: AppState, factory: Factory
) -> None:
    org = await factory.org()
    server_id = await enrol_server(state, org, "db-1", ["10.0.0.9"])
    async with _signed_in(app, org.owner_email) as (client, csrf):
        empty = await client.get("/incidents")
        assert empty.status_code == 200 and "No incidents" in empty.text
        assert 'data-live-stream="/api/v1/incidents/stream"' in empty.text
        _, url = await _add_integration(client, csrf)
        r = await _fire(app, url, am_alert("DiskFull", "db-1:9100", severity="critical"))
        assert r.status_code == 202, r.text

        page = await client.get("/incidents")
        row = re.search(
            r'<tr data-incident="[^"]+" data-number="(\d+)" data-state="open">(.*?)</tr>',
            page.text,
            re.S,
        )
        assert row, page.text
        cells = _text(row[2])
        assert "DiskFull on db-1:9100" in cells and "Critical" in cells and "open" in cells
        assert "db-1" in cells and "alertmanager" in cells and "UTC" in cells
        assert f'href="/servers/{server_id}"' in row[2]

        # Filters: the form keeps its values, and the live refresh asks for the same filters.
        active = await client.get("/incidents", params={"state": "active", "severity": "critical"})
        assert "DiskFull on db-1:9100" in active.text
        assert 'data-live-refresh="/incidents?state=active&amp;severity=critical"' in active.text
        assert '<option value="active" selected>' in active.text
        resolved = await client.get("/incidents", params={"state": "resolved"})
        assert (
            "DiskFull on db-1:9100" not in resolved.text and "match these filters" in resolved.text
        )
        by_server = await client.get("/incidents", params={"server": str(server_id)})
        assert "DiskFull on db-1:9100" in by_server.text
        future = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
        later = await client.get("/incidents", params={"since": future})
        assert "DiskFull on db-1:9100" not in later.text and f'value="{future}"' in later.text
        other_source = await client.get("/incidents", params={"source": "nosuch"})
        assert "DiskFull" not in other_source.text

        bad = await client.get("/incidents", params={"since": "yesterday"})
        assert bad.status_code == 422
        assert "since: is not a date and time (YYYY-MM-DD HH:MM, UTC)" in _text(bad.text)
        bad = await client.get("/incidents", params={"state": "sleeping"})
        assert bad.status_code == 422 and "state: must be one of" in _text(bad.text)


async def test_incident_page_acts_assigns_and_comments_with_clear_errors(
    app: FastAPI, factory: Factory, database: Database
) -> None:
    org = await factory.org()
    member = await add_person(database, org, "member")
    stakeholder = await add_person(database, org, "stakeholder")
    async with _signed_in(app, org.owner_email) as (client, csrf):
        _, url = await _add_integration(client, csrf)
        assert (await _fire(app, url, am_alert("HighLoad", "web-7:9100"))).status_code == 202
        incident_id = await _incident_of(client, "HighLoad on web-7:9100")
        page = await client.get(f"/incidents/{incident_id}")
        text = _text(page.text)
        assert "First alert received" in text and "Created" in text
        assert ">Acknowledge</button>" in page.text and ">Resolve</button>" in page.text
        assert ">Reopen</button>" not in page.text
        assert "Diagnosis started" not in text  # shown only once set
        assert 'data-live-refresh="/incidents/' in page.text
        assert "web-7:9100" in text  # host hints
        assert "&#34;alertname&#34;: &#34;HighLoad&#34;" in page.text or (
            "&quot;alertname&quot;: &quot;HighLoad&quot;" in page.text
        )  # the raw payload, escaped

        # The assign select offers members, not stakeholders.
        select = page.text.split('id="assignee"', 1)[1].split("</select>", 1)[0]
        assert member in select and org.owner_email in select and stakeholder not in select

        r = await client.post(f"/incidents/{incident_id}/action", data={"action": "acknowledge"})
        assert r.status_code == 403  # no CSRF token
        r = await client.post(
            f"/incidents/{incident_id}/action", data={"csrf_token": csrf, "action": "acknowledge"}
        )
        assert r.status_code == 303
        page = await client.get(f"/incidents/{incident_id}")
        assert "is acknowledged" in _text(page.text)
        assert ">Acknowledge</button>" not in page.text and ">Resolve</button>" in page.text
        r = await client.post(
            f"/incidents/{incident_id}/action", data={"csrf_token": csrf, "action": "acknowledge"}
        )
        assert r.status_code == 409
        assert "cannot be acknowledged" in _text(r.text)
        r = await client.post(
            f"/incidents/{incident_id}/action", data={"csrf_token": csrf, "action": "explode"}
        )
        assert r.status_code == 422 and "choose acknowledge, resolve or reopen" in _text(r.text)

        member_id = re.search(rf'<option value="([0-9a-f-]+)">{re.escape(member)}</option>', select)
        assert member_id
        r = await client.post(
            f"/incidents/{incident_id}/assign",
            data={"csrf_token": csrf, "assignee_id": member_id[1]},
        )
        assert r.status_code == 303
        page = await client.get(f"/incidents/{incident_id}")
        assert f'class="assignee">{member}<' in page.text
        r = await client.post(
            f"/incidents/{incident_id}/assign",
            data={"csrf_token": csrf, "assignee_id": str(uuid.uuid4())},
        )
        assert r.status_code == 422
        assert "assignee_id: is not a member of this organisation" in _text(r.text)

        r = await client.post(
            f"/incidents/{incident_id}/comment", data={"csrf_token": csrf, "body": "  "}
        )
        assert r.status_code == 422 and "body: a comment cannot be empty" in _text(r.text)
        r = await client.post(
            f"/incidents/{incident_id}/comment",
            data={"csrf_token": csrf, "body": "Looking at <b>it</b>"},
        )
        assert r.status_code == 303
        r = await client.post(
            f"/incidents/{incident_id}/action", data={"csrf_token": csrf, "action": "resolve"}
        )
        assert r.status_code == 303
        page = await client.get(f"/incidents/{incident_id}")
        timeline = page.text.split('id="timeline-events"', 1)[1]
        kinds = re.findall(r'<li data-kind="([a-z_]+)"', timeline)
        assert kinds[-4:] == ["acknowledged", "assigned", "comment", "resolved"], kinds
        assert "Looking at &lt;b&gt;it&lt;/b&gt;" in timeline
        assert ">Reopen</button>" in page.text and ">Resolve</button>" not in page.text

    async with _signed_in(app, stakeholder) as (client, csrf):
        page = await client.get(f"/incidents/{incident_id}")
        assert page.status_code == 200 and "HighLoad on web-7:9100" in page.text
        assert "<button" not in page.text.split('<main id="main"', 1)[1]
        for path, data in [
            (f"/incidents/{incident_id}/action", {"action": "reopen"}),
            (f"/incidents/{incident_id}/assign", {"assignee_id": ""}),
            (f"/incidents/{incident_id}/comment", {"body": "hi"}),
        ]:
            r = await client.post(path, data={**data, "csrf_token": csrf})
            assert r.status_code == 403, path
            assert "the stakeholder role is read-only" in r.text
    async with _signed_in(app, member) as (client, csrf):
        r = await client.post(
            f"/incidents/{incident_id}/action", data={"csrf_token": csrf, "action": "reopen"}
        )
        assert r.status_code == 303


async def test_another_orgs_incident_is_not_found(app: FastAPI, factory: Factory) -> None:
    first, second = await factory.org(), await factory.org()
    async with _signed_in(app, first.owner_email) as (client, csrf):
        _, url = await _add_integration(client, csrf)
        await _fire(app, url, am_alert("Secret", "a:1"))
        incident_id = await _incident_of(client, "Secret on a:1")
    async with _signed_in(app, second.owner_email) as (client, csrf):
        assert (await client.get(f"/incidents/{incident_id}")).status_code == 404
        listed = await client.get("/incidents")
        assert "Secret on a:1" not in listed.text


# ---- rejected payloads ----------------------------------------------------------------------


async def test_rejected_payloads_list_and_show_the_raw_body_escaped(
    app: FastAPI, factory: Factory
) -> None:
    org = await factory.org()
    async with _signed_in(app, org.owner_email) as (client, csrf):
        empty = await client.get("/rejected")
        assert empty.status_code == 200 and "No rejected payloads" in empty.text
        _, url = await _add_integration(client, csrf, name="Noisy")
        async with client_for(app) as tool:
            r = await tool.post(
                path_of(url),
                content=b'{"alerts": "<script>alert(1)</script>"}',
                headers={
                    "content-type": "application/json",
                    "authorization": "Bearer hunter2",
                    "x-sender": "prometheus",
                },
            )
        assert r.status_code == 422
        page = await client.get("/rejected")
        row = re.search(r'<tr data-payload="([0-9a-f-]+)">(.*?)</tr>', page.text, re.S)
        assert row, page.text
        cells = _text(row[2])
        assert "alertmanager" in cells and "Noisy" in cells and "B" in cells
        detail = await client.get(f"/rejected/{row[1]}")
        assert detail.status_code == 200
        assert "<script>alert(1)</script>" not in detail.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in detail.text
        assert "x-sender" in detail.text and "prometheus" in detail.text
        assert "hunter2" not in detail.text
        assert (await client.get(f"/rejected/{uuid.uuid4()}")).status_code == 404


# ---- maintenance windows --------------------------------------------------------------------


def _local(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M")


async def test_maintenance_windows_are_scheduled_listed_shown_on_the_server_and_cancelled(
    app: FastAPI, state: AppState, factory: Factory, database: Database
) -> None:
    org = await factory.org()
    server_id = await enrol_server(state, org, "db-2")
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start, end = now - timedelta(minutes=5), now + timedelta(hours=2)
    async with _signed_in(app, org.owner_email) as (client, csrf):
        page = await client.get("/maintenance")
        assert page.status_code == 200 and "No current or upcoming" in page.text
        assert "read as UTC" in page.text
        r = await client.post(
            "/maintenance",
            data={
                "csrf_token": csrf,
                "reason": "Kernel upgrade",
                "starts_at": _local(start),
                "ends_at": _local(end),
                "scope": "servers",
                "server_ids": str(server_id),
            },
        )
        assert r.status_code == 303, r.text
        page = await client.get("/maintenance")
        text = _text(page.text)
        assert "Scheduled: Maintenance window" in text
        assert f"{start:%Y-%m-%d %H:%M} UTC" in text and f"{end:%Y-%m-%d %H:%M} UTC" in text
        assert "Kernel upgrade" in text and "in progress" in text and "db-2" in text
        window_id = re.search(r'<tr data-window="([0-9a-f-]+)">', page.text)
        assert window_id

        server_page = await client.get(f"/servers/{server_id}")
        assert 'id="server-windows"' in server_page.text and "Kernel upgrade" in server_page.text

        # Bad input is shown with the form as typed.
        for data, message in [
            ({"starts_at": _local(end), "ends_at": _local(start), "scope": "all"}, "ends_at: must be after starts_at"),
            ({"starts_at": "", "ends_at": _local(end), "scope": "all"}, "starts_at: give a date and time (UTC)"),
            ({"starts_at": _local(start), "ends_at": _local(end), "scope": "servers"}, "server_ids: name at least one server"),
            ({"starts_at": _local(start), "ends_at": _local(end), "scope": "labels", "labels": "env"}, "labels: line 1 is not key=value"),
        ]:  # fmt: skip
            r = await client.post(
                "/maintenance", data={"csrf_token": csrf, "reason": "Typed reason", **data}
            )
            assert r.status_code == 422, data
            assert message in _text(r.text)
            assert 'value="Typed reason"' in r.text

        r = await client.post(
            "/maintenance",
            data={
                "csrf_token": csrf,
                "reason": "Staging freeze",
                "starts_at": _local(now + timedelta(days=1)),
                "ends_at": _local(now + timedelta(days=2)),
                "scope": "labels",
                "labels": "env=staging\n\nteam = web",
            },
        )
        assert r.status_code == 303
        page = await client.get("/maintenance")
        assert "env=staging" in page.text and "team=web" in page.text and "upcoming" in page.text

        r = await client.post(f"/maintenance/{window_id[1]}/cancel", data={"csrf_token": csrf})
        assert r.status_code == 303
        page = await client.get("/maintenance")
        assert "Cancelled the window." in _text(page.text)
        assert f'data-window="{window_id[1]}"' not in page.text
        server_page = await client.get(f"/servers/{server_id}")
        assert 'id="server-windows"' not in server_page.text
        past = await client.get("/maintenance", params={"past": "true"})
        assert "Hide past windows" in past.text and "Staging freeze" in past.text

    stakeholder = await add_person(database, org, "stakeholder")
    async with _signed_in(app, stakeholder) as (client, csrf):
        page = await client.get("/maintenance")
        assert "Staging freeze" in page.text
        assert 'id="window-form"' not in page.text and "Cancel window" not in page.text
        r = await client.post(
            "/maintenance",
            data={"csrf_token": csrf, "reason": "x", "starts_at": _local(start), "ends_at": _local(end), "scope": "all"},
        )  # fmt: skip
        assert r.status_code == 403 and "the stakeholder role is read-only" in r.text


# ---- incident settings ----------------------------------------------------------------------


async def test_admins_edit_incident_settings_and_others_read_them(
    app: FastAPI, factory: Factory, database: Database
) -> None:
    org: OrgInfo = await factory.org()
    member = await add_person(database, org, "member")
    async with _signed_in(app, org.owner_email) as (client, csrf):
        page = await client.get("/incidents/settings")
        assert page.status_code == 200
        budget = re.search(r"the plan&#39;s: ([\d,]+)|the plan's: ([\d,]+)", page.text)
        assert budget, page.text
        form = {
            "csrf_token": csrf,
            "group_window_s": "600",
            "storm_threshold": "30",
            "storm_window_s": "120",
            "storm_quiet_s": "900",
            "alert_budget": "5",
        }
        r = await client.post("/incidents/settings", data=form)
        assert r.status_code == 303
        page = await client.get("/incidents/settings")
        text = _text(page.text)
        assert "Saved the incident settings." in text
        assert "600 s" in text and "Auto-resolve off" in text
        assert "more than 30 alerts in 120 s; ends after 900 s quiet" in text
        assert re.search(r"5 \(plan allows [\d,]+\) per server per day", text)

        r = await client.post(
            "/incidents/settings", data={**form, "alert_budget": "", "auto_resolve": "true"}
        )
        assert r.status_code == 303
        text = _text((await client.get("/incidents/settings")).text)
        assert "Auto-resolve on" in text and "the plan's:" in text

        r = await client.post("/incidents/settings", data={**form, "group_window_s": "5"})
        assert r.status_code == 422
        assert "group_window_s: must be between 30 and 86400" in _text(r.text)
        assert 'value="5"' in r.text
        r = await client.post("/incidents/settings", data={**form, "storm_threshold": "many"})
        assert r.status_code == 422 and "storm_threshold: must be a whole number" in _text(r.text)
        r = await client.post("/incidents/settings", data={**form, "alert_budget": "99999999"})
        assert r.status_code == 422 and "alert_budget: may be lowered, not raised" in _text(r.text)
    async with _signed_in(app, member) as (client, csrf):
        page = await client.get("/incidents/settings")
        assert page.status_code == 200 and 'id="settings-form"' not in page.text
        assert "Owners and admins change these." in page.text
        r = await client.post("/incidents/settings", data={**form, "csrf_token": csrf})
        assert r.status_code == 403
        assert "only owners and admins change incident settings" in r.text


async def test_new_pages_need_a_session_and_are_in_the_navigation(
    app: FastAPI, anon: httpx.AsyncClient, factory: Factory
) -> None:
    for path in ("/incidents", "/integrations", "/maintenance", "/rejected", "/incidents/settings"):
        r = await anon.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path
    org = await factory.org()
    async with _signed_in(app, org.owner_email) as (client, _):
        page = await client.get("/plan")
        nav = page.text.split('class="mainnav"', 1)[1].split("</nav>", 1)[0]
        for href in ("/incidents", "/integrations", "/maintenance", "/rejected"):
            assert f'href="{href}"' in nav


@pytest.mark.parametrize("text", ["2026-01-02T03:04", "2026-01-02"])
def test_datetime_local_values_are_read_as_utc(text: str) -> None:
    from vixpro.web.dashboard.incidents import parse_time

    value = parse_time("since", text)
    assert value is not None and value.tzinfo is not None and value.utcoffset() == timedelta(0)
