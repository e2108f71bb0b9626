"""The servers, tools, approvals and executions pages over plain HTTP (no host agent needed:
a server enrolled through the service stays offline, so its tool runs fail as ``offline``)."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI
from vixpro_agent.protocol import signing

from tests.conftest import Factory, OrgInfo
from tests.web.dashboard.conftest import add_person, client_for, sign_in
from vixpro.accounts import plans
from vixpro.accounts.errors import InvalidInput
from vixpro.accounts.principal import CLI, Actor, Principal
from vixpro.core.roles import Role
from vixpro.db.sessions import Database
from vixpro.hub.presence import Presence
from vixpro.tools import catalogue, executions, servers
from vixpro.tools.executions import Requester
from vixpro.web.dashboard import schema_form
from vixpro.web.state import AppState

COMMAND = re.compile(r'id="install-command"[^>]*value="([^"]+)"')


async def _enrol(state: AppState, org: OrgInfo, hostname: str = "web-1") -> uuid.UUID:
    assert state.signer is not None and state.manifest is not None
    async with state.db.tenant_session(org.org_id) as session:
        issued = await servers.create_enrollment_token(session, CLI, org.org_id, None)
    async with state.db.system_session("test") as session:
        answer = await servers.enroll(
            session,
            state.signer,
            state.manifest,
            token=issued.token,
            public_key=signing.public_pem(signing.generate_private_key()),
            facts={
                "hostname": hostname,
                "os": {"pretty_name": "Debian GNU/Linux 12 (bookworm)"},
                "kernel": "6.1.0-test",
                "cpu_count": 4,
                "memory_total": 8 * 1024**3,
                "disks": [{"mountpoint": "/", "fstype": "ext4", "total": 50 * 1024**3}],
                "addresses": ["10.0.0.5"],
                "agent_version": "0.1.0",
            },
            platform_url="http://127.0.0.1",
            ip=None,
        )
    return uuid.UUID(answer["server_id"])


@asynccontextmanager
async def _signed_in(app: FastAPI, email: str) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A fresh browser-like client signed in as ``email``, and its CSRF token."""
    async with client_for(app) as client:
        yield client, await sign_in(client, email)


async def _enable(state: AppState, org: OrgInfo, tool: str) -> None:
    assert state.manifest is not None
    async with state.db.system_session("test") as session:
        plan = await plans.org_plan(session, org.org_id)
    owner = Principal("user", org.org_id, org.name, Role.OWNER, plan, org.owner_email, org.owner_id)
    async with state.db.tenant_session(org.org_id) as session:
        await catalogue.set_permissions(
            session, owner, state.manifest, tool, enabled=True, approval_required=None
        )


def _text(page: str) -> str:
    """The page's text, tags dropped and entities decoded, for matching what people read."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def test_schema_becomes_typed_fields_and_form_text_becomes_typed_params() -> None:
    schema = {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "Absolute path"},
            "days": {"type": "integer", "minimum": 1},
            "ratio": {"type": "number"},
            "dry_run": {"type": "boolean", "default": True},
            "method": {"type": "string", "enum": ["GET", "HEAD"], "default": "GET"},
            "packages": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["path", "days"],
    }
    fields = {f.name: f for f in schema_form.form_fields(schema)}
    assert {n: f.widget for n, f in fields.items()} == {
        "path": "text",
        "days": "number",
        "ratio": "number",
        "dry_run": "checkbox",
        "method": "select",
        "packages": "lines",
    }
    assert fields["path"].required and fields["path"].description == "Absolute path"
    assert fields["days"].step == "1" and fields["days"].minimum == "1"
    assert fields["dry_run"].checked and fields["method"].value == "GET"
    assert fields["method"].options == ("GET", "HEAD")

    params = schema_form.parse(
        schema,
        {"path": " /tmp ", "days": "10", "ratio": "0.5", "method": "HEAD", "packages": "a\n\nb"},
    )
    # An unticked checkbox is false; an empty optional field is left to the tool's default.
    assert params == {
        "path": "/tmp",
        "days": 10,
        "ratio": 0.5,
        "dry_run": False,
        "method": "HEAD",
        "packages": ["a", "b"],
    }
    assert schema_form.parse(schema, {"dry_run": "true", "days": ""}) == {"dry_run": True}
    with pytest.raises(InvalidInput) as bad:
        schema_form.parse(schema, {"days": "ten"})
    assert bad.value.field == "params.days"
    with pytest.raises(InvalidInput) as bad:
        schema_form.parse(schema, {"ratio": "nan"})
    assert bad.value.field == "params.ratio"


async def test_add_server_shows_the_install_command_with_a_working_token_once(
    app: FastAPI, state: AppState, factory: Factory
) -> None:
    org = await factory.org()
    async with _signed_in(app, org.owner_email) as (client, csrf):
        page = await client.get("/servers")
        assert page.status_code == 200
        assert "No servers yet." in page.text and 'id="add-server-form"' in page.text
        r = await client.post("/servers/enrollment-token", data={"csrf_token": csrf})
        assert r.status_code == 201, r.text
        assert r.headers["cache-control"] == "no-store"
        match = COMMAND.search(r.text)
        assert match, "the install command is not on the page"
        command = html.unescape(match.group(1))
        token = re.search(r"install\.sh\?token=([A-Za-z0-9_-]+)'", command)
        assert token, command
        assert command.startswith("curl -fsSL 'http://testserver/api/v1/hostagent/install.sh")
        text = _text(r.text)
        assert "expires" in text and "UTC" in text
        assert (
            f"Without root or systemd, run vixpro-agent enroll --server http://testserver "
            f"--token {token[1]} --state-dir DIR then vixpro-agent run --state-dir DIR"
        ) in text
        again = await client.get("/servers")
        assert token[1] not in again.text

    # The token on the page is a real one: a host agent enrols with it.
    assert state.signer is not None and state.manifest is not None
    async with state.db.system_session("test") as session:
        answer = await servers.enroll(
            session,
            state.signer,
            state.manifest,
            token=token[1],
            public_key=signing.public_pem(signing.generate_private_key()),
            facts={"hostname": "fresh-box"},
            platform_url="http://testserver",
            ip=None,
        )
    assert answer["server_id"]


async def test_members_and_stakeholders_cannot_add_servers(
    app: FastAPI, state: AppState, factory: Factory, database: Database
) -> None:
    org = await factory.org()
    server_id = await _enrol(state, org)
    stakeholder = await add_person(database, org, "stakeholder")
    member = await add_person(database, org, "member")
    async with _signed_in(app, stakeholder) as (client, csrf):
        page = await client.get("/servers")
        assert page.status_code == 200 and "web-1" in page.text
        assert 'id="add-server-form"' not in page.text
        server_page = await client.get(f"/servers/{server_id}")
        assert 'id="run-form"' not in server_page.text
        for path, data in [
            ("/servers/enrollment-token", {}),
            (f"/servers/{server_id}/run", {"tool": "load_uptime"}),
            (f"/servers/{server_id}/remove", {}),
            ("/tools/load_uptime", {"enabled": "true"}),
        ]:
            r = await client.post(path, data={**data, "csrf_token": csrf})
            assert r.status_code == 403, path
            assert "the stakeholder role is read-only" in r.text
    async with _signed_in(app, member) as (client, csrf):
        r = await client.post("/servers/enrollment-token", data={"csrf_token": csrf})
        assert r.status_code == 403
        assert "only owners and admins add servers" in r.text
        assert 'id="install-command"' not in r.text
        assert 'id="servers"' in r.text  # shown on the servers page itself


async def test_run_form_converts_parameters_and_names_the_field_in_errors(
    app: FastAPI, state: AppState, factory: Factory, database: Database
) -> None:
    org = await factory.org()
    server_id = await _enrol(state, org)
    member = await add_person(database, org, "member")
    run = f"/servers/{server_id}/run"
    async with _signed_in(app, member) as (client, csrf):
        page = await client.get(f"/servers/{server_id}", params={"tool": "process_details"})
        assert page.status_code == 200
        assert 'name="params.pid"' in page.text and 'type="number"' in page.text
        assert "Process id" in page.text  # the parameter's description as help text
        assert "Debian GNU/Linux 12" in page.text and "8.0 GiB" in page.text

        r = await client.post(
            run, data={"tool": "process_details", "params.pid": "one", "csrf_token": csrf}
        )
        assert r.status_code == 422
        assert "params.pid: must be a whole number" in r.text
        assert 'value="one"' in r.text  # what was typed is kept

        r = await client.post(
            run, data={"tool": "process_details", "params.pid": "", "csrf_token": csrf}
        )
        assert r.status_code == 422 and "params.pid: is required" in r.text
        r = await client.post(
            run, data={"tool": "process_details", "params.pid": "0", "csrf_token": csrf}
        )
        assert r.status_code == 422 and "params.pid: must be at least 1" in r.text

        r = await client.post(
            run,
            data={
                "tool": "delete_old_files",
                "params.path": "/tmp",
                "params.older_than_days": "3",
                "csrf_token": csrf,
            },
        )
        assert r.status_code == 403 and "the delete_old_files tool is disabled" in r.text
        r = await client.post(run, data={"tool": "no_such_tool", "csrf_token": csrf})
        assert r.status_code == 404 and "tool &#39;no_such_tool&#39; not found" in r.text

        # Typed as the schema says: the integer, the unticked and ticked boxes, the default.
        r = await client.post(
            run,
            data={
                "tool": "http_check",
                "params.url": "http://127.0.0.1:9/",
                "params.timeout_s": "5",
                "params.verify_tls": "true",
                "params.expect_status": "",
                "csrf_token": csrf,
            },
        )
        # The server has no host agent connected: the run ends at once as failed, offline.
        assert r.status_code == 200, r.text
        assert 'id="run-result"' in r.text and "the host agent is offline" in r.text
        assert "status-failed" in r.text and ">offline</code>" in r.text
    async with state.db.tenant_session(org.org_id) as session:
        rows = await executions.list_executions(session, server_id=server_id)
    assert [row.tool for row in rows] == ["http_check"]  # the refused requests left no row
    assert rows[0].params == {
        "url": "http://127.0.0.1:9/",
        "timeout_s": 5,
        "verify_tls": True,
        "follow_redirects": False,
        "method": "GET",
    }
    assert rows[0].requested_by_label == member


async def test_tools_toggle_for_admins_and_read_only_for_members(
    app: FastAPI, factory: Factory, database: Database
) -> None:
    org = await factory.org()
    member = await add_person(database, org, "member")
    async with _signed_in(app, org.owner_email) as (client, csrf):
        page = await client.get("/tools")
        assert 'id="tool-delete_old_files"' in page.text
        r = await client.post(
            "/tools/delete_old_files",
            data={"enabled": "true", "approval_required": "true", "csrf_token": csrf},
        )
        assert r.status_code == 303
        page = await client.get("/tools")
        assert "Saved delete_old_files: enabled, approval required." in page.text
        row = re.search(r'<tr data-tool="delete_old_files".*?</tr>', page.text, re.S)
        assert row and row[0].count(" checked") == 2
        r = await client.post("/tools/load_uptime", data={"csrf_token": csrf})  # both unticked
        assert r.status_code == 303
        page = await client.get("/tools")
        assert "Saved load_uptime: disabled." in page.text
        row = re.search(r'<tr data-tool="load_uptime".*?</tr>', page.text, re.S)
        assert row and " checked" not in row[0]
    async with _signed_in(app, member) as (client, csrf):
        page = await client.get("/tools")
        assert '<form method="post" action="/tools/' not in page.text
        row = re.search(r'<tr data-tool="delete_old_files".*?</tr>', page.text, re.S)
        assert row and "enabled" in row[0] and "required" in row[0]
        r = await client.post("/tools/delete_old_files", data={"csrf_token": csrf})
        assert r.status_code == 403
        assert "only owners and admins change tool permissions" in r.text
        assert 'id="tools"' in r.text


async def _pending(state: AppState, org: OrgInfo, server_id: uuid.UUID) -> uuid.UUID:
    await _enable(state, org, "delete_old_files")
    assert state.manifest is not None
    row = await state.runner.request(
        org.org_id,
        Requester(Actor("user", org.owner_id, org.owner_email)),
        state.manifest,
        server_id,
        "delete_old_files",
        {"path": "/tmp/x", "older_than_days": 3},
    )
    assert row.status == "awaiting_approval"
    async with state.db.tenant_session(org.org_id) as session:
        approval = await executions.approval_for(session, row.id)
    assert approval is not None
    return approval.id


async def test_members_cannot_decide_approvals_and_owners_can(
    app: FastAPI, state: AppState, factory: Factory, database: Database
) -> None:
    org = await factory.org()
    server_id = await _enrol(state, org, "db-1")
    approval_id = await _pending(state, org, server_id)
    member = await add_person(database, org, "member")
    decide = f"/approvals/{approval_id}/decision"
    async with _signed_in(app, member) as (client, csrf):
        badge = await client.get("/approvals/pending-count")
        assert re.search(r'class="badge count"[^>]*>1<', badge.text)
        page = await client.get("/approvals")
        assert f'data-approval="{approval_id}"' in page.text and "db-1" in page.text
        assert 'class="decision-form"' not in page.text
        r = await client.post(decide, data={"decision": "approve", "csrf_token": csrf})
        assert r.status_code == 403
        assert "only owners and admins decide approvals" in r.text
        assert 'id="pending"' in r.text  # inline, on the approvals page
    async with _signed_in(app, org.owner_email) as (client, csrf):
        r = await client.post(decide, data={"decision": "maybe", "csrf_token": csrf})
        assert r.status_code == 422 and "decision: choose approve or deny" in r.text
        r = await client.post(
            decide,
            data={"decision": "deny", "reason": "not during business hours", "csrf_token": csrf},
        )
        assert r.status_code == 303
        page = await client.get("/approvals")
        assert "Denied delete_old_files on db-1." in page.text
        assert "Nothing is waiting for approval." in page.text
        decided = re.search(rf'<tr data-approval="{approval_id}".*?</tr>', page.text, re.S)
        assert decided and "not during business hours" in decided[0] and "denied" in decided[0]
        assert (await client.get("/approvals/pending-count")).text == ""
        r = await client.post(decide, data={"decision": "approve", "csrf_token": csrf})
        assert r.status_code == 409 and "this approval is already denied" in r.text


async def test_executions_filter_page_and_show_one_in_full(
    app: FastAPI, state: AppState, factory: Factory
) -> None:
    org = await factory.org()
    server_id = await _enrol(state, org, "app-1")
    approval_id = await _pending(state, org, server_id)
    assert state.manifest is not None
    requester = Requester(Actor("user", org.owner_id, org.owner_email))
    for _ in range(50):
        await state.runner.request(
            org.org_id, requester, state.manifest, server_id, "load_uptime", {}
        )
    async with _signed_in(app, org.owner_email) as (client, csrf):
        first = await client.get("/executions")
        assert first.text.count("<tr data-execution=") == 50
        older = re.search(r'href="/executions\?([^"]+)" rel="next"', first.text)
        assert older, "no link to older executions"
        second = await client.get("/executions?" + html.unescape(older[1]))
        assert second.text.count("<tr data-execution=") == 1
        assert 'data-tool="delete_old_files"' in second.text

        only = await client.get("/executions", params={"tool": "delete_old_files"})
        assert only.text.count("<tr data-execution=") == 1
        waiting = await client.get(
            "/executions", params={"status": "awaiting_approval", "server": str(server_id)}
        )
        assert waiting.text.count("<tr data-execution=") == 1
        r = await client.get("/executions", params={"server": "nope"})
        assert r.status_code == 422 and "server: is not a server id" in r.text

        r = await client.post(
            f"/approvals/{approval_id}/decision",
            data={"decision": "deny", "reason": "no", "csrf_token": csrf},
        )
        assert r.status_code == 303
        execution_id = re.search(
            r'<tr data-execution="([^"]+)" data-tool="delete_old_files"', only.text
        )
        assert execution_id
        detail = await client.get(f"/executions/{execution_id[1]}")
        assert detail.status_code == 200
        text = _text(detail.text)
        assert f"Requested by {org.owner_email} (user)" in text
        assert f"Decided by {org.owner_email}" in text and "Reason no" in text
        assert '"older_than_days": 3' in html.unescape(detail.text)
        assert "status-denied" in detail.text and f"denied by {org.owner_email}: no" in text


async def test_server_page_trust_again_rename_roots_and_remove(
    app: FastAPI, state: AppState, factory: Factory, database: Database
) -> None:
    org = await factory.org()
    server_id = await _enrol(state, org, "edge-1")
    await Presence(state.db, "test-replica").tampered(server_id, "config.json signature invalid")
    member = await add_person(database, org, "member")
    async with _signed_in(app, member) as (client, csrf):
        page = await client.get(f"/servers/{server_id}")
        assert "config.json signature invalid" in page.text
        assert 'id="reissue-form"' not in page.text and 'id="settings-form"' not in page.text
        r = await client.post(f"/servers/{server_id}/reissue", data={"csrf_token": csrf})
        assert r.status_code == 403 and "only owners and admins change servers" in r.text
    async with _signed_in(app, org.owner_email) as (client, csrf):
        listing = await client.get("/servers")
        events = re.search(r'<table id="server-events">.*?</table>', listing.text, re.S)
        assert events and "tampered" in events[0] and "Critical" in events[0]
        assert "severity-row-critical" in events[0]

        r = await client.post(f"/servers/{server_id}/reissue", data={"csrf_token": csrf})
        assert r.status_code == 303
        page = await client.get(f"/servers/{server_id}")
        assert "A fresh signed config (version 2) was sent to edge-1." in page.text
        assert "status-offline" in page.text and 'id="reissue-form"' not in page.text

        form = {
            "name": "edge 1 (eu)",
            "allowed_log_roots": "/var/log\n/srv/logs/",
            "allowed_cleanup_roots": "relative/path",
            "csrf_token": csrf,
        }
        r = await client.post(f"/servers/{server_id}/settings", data=form)
        assert r.status_code == 422
        assert "allowed_cleanup_roots: &#39;relative/path&#39; is not an absolute path" in r.text
        assert "relative/path</textarea>" in r.text  # what was typed is kept
        r = await client.post(
            f"/servers/{server_id}/settings", data={**form, "allowed_cleanup_roots": "/tmp"}
        )
        assert r.status_code == 303
    async with state.db.tenant_session(org.org_id) as session:
        server = await servers.get_server(session, server_id)
        assert server.name == "edge-1-eu"
        assert server.config["allowed_log_roots"] == ["/var/log", "/srv/logs"]
        assert server.config["allowed_cleanup_roots"] == ["/tmp"]
        assert server.config_version == 3
    async with _signed_in(app, org.owner_email) as (client, csrf):
        r = await client.post(f"/servers/{server_id}/remove", data={"csrf_token": csrf})
        assert r.status_code == 303 and r.headers["location"] == "/servers"
        page = await client.get("/servers")
        assert "edge-1-eu was removed and its host agent disconnected." in page.text
        assert (await client.get(f"/servers/{server_id}")).status_code == 404
