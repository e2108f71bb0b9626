"""The action-item pipeline end to end: a REAL host agent's tool fails, an item appears, staff
move it through the engineering queue (the tool is disabled while it is fixed and re-enabled
when the fix is deployed), and the organisation verifies; every step is stamped and notified."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from vixpro_agent.protocol import messages as m

from tests.conftest import PASSWORD, Factory, LiveServer, OrgInfo, bearer
from tests.hub.agents import RunningAgent, enrol, run_tool, wait_connected
from tests.support.conftest import outbox
from vixpro.accounts.principal import Actor
from vixpro.db.action_items import raise_action_item
from vixpro.support import action_items
from vixpro.web.state import AppState

KIND = "action_item.changed"
STAFF = Actor("staff", None, "engineer@vixpro.test")


@pytest.fixture(scope="module")
async def org(factory: Factory) -> OrgInfo:
    return await factory.org("lean")


@pytest.fixture(scope="module")
async def key(factory: Factory, org: OrgInfo) -> str:
    return await factory.api_key(org, "admin")


@pytest.fixture(scope="module")
def agent(live_server: LiveServer, key: str) -> Iterator[RunningAgent]:
    running = enrol(live_server.url, key).start()
    wait_connected(live_server.url, key, running.server_id)
    yield running
    running.stop()


@pytest.fixture
async def staff(live_server: LiveServer, factory: Factory) -> AsyncIterator[httpx.AsyncClient]:
    person = await factory.org("lean", staff=True)
    async with httpx.AsyncClient(base_url=live_server.url) as c:
        r = await c.post("/login", data={"email": person.owner_email, "password": PASSWORD})
        assert r.status_code == 303
        page = (await c.get("/plan")).text
        c.headers["X-CSRF-Token"] = page.split('name="csrf-token" content="')[1].split('"')[0]
        yield c


async def test_a_failing_tool_goes_through_the_pipeline_with_the_org_notified(
    live_server: LiveServer,
    state: AppState,
    org: OrgInfo,
    key: str,
    agent: RunningAgent,
    staff: httpx.AsyncClient,
) -> None:
    base = live_server.url
    # docker is not installed here: the host agent answers "unavailable", a platform problem.
    r = run_tool(base, key, agent.server_id, "docker_containers")
    assert r.json()["error_kind"] == m.ERR_UNAVAILABLE, r.text
    run_tool(base, key, agent.server_id, "docker_containers")  # the same failure again
    async with httpx.AsyncClient(base_url=base, headers=bearer(key)) as api:
        [item] = (await api.get("/api/v1/action-items")).json()["items"]
        assert (item["tool"], item["status"], item["occurrences"]) == (
            "docker_containers",
            "pending",
            2,
        )
        item_id = item["id"]
        created = await outbox(state, org.org_id, KIND)
        assert sorted(r["data"]["audience"] for r in created) == ["members", "staff"]

        queue = (await staff.get("/api/v1/staff/action-items", params={"status": "pending"})).json()
        assert item_id in [i["id"] for i in queue]
        fixing = await staff.post(
            f"/api/v1/staff/action-items/{item_id}/status",
            json={"status": "pending_fix", "note": "docker socket path is wrong"},
        )
        assert fixing.status_code == 200, fixing.text
        assert fixing.json()["tool_disabled_until_fixed"] is True
        # The tool is disabled for this organisation while it is being fixed.
        refused = run_tool(base, key, agent.server_id, "docker_containers")
        assert refused.status_code == 403 and "disabled" in refused.json()["detail"]
        tools = {t["name"]: t for t in (await api.get("/api/v1/tools")).json()}
        assert tools["docker_containers"]["enabled"] is False

        # The org cannot jump the queue.
        early = await api.post(f"/api/v1/action-items/{item_id}/review", json={"fixed": True})
        assert early.status_code == 409 and "pending_fix" in early.json()["detail"]

        deployed = await staff.post(
            f"/api/v1/staff/action-items/{item_id}/status", json={"status": "pending_org_review"}
        )
        assert deployed.json()["tool_disabled_until_fixed"] is False
        tools = {t["name"]: t for t in (await api.get("/api/v1/tools")).json()}
        assert tools["docker_containers"]["enabled"] is True  # re-enabled, as it was

        verified = await api.post(
            f"/api/v1/action-items/{item_id}/review", json={"fixed": True, "note": "works"}
        )
        assert verified.status_code == 200 and verified.json()["status"] == "resolved"
        history = verified.json()["history"]
        assert [h["to_status"] for h in history] == [
            "pending",
            "pending_fix",
            "pending_org_review",
            "resolved",
        ]
        assert [h["mover"] for h in history] == ["system", "staff", "staff", "org"]

    rows = await outbox(state, org.org_id, KIND)
    members = [r for r in rows if r["data"]["audience"] == "members"]
    assert [r["data"]["status"] for r in members] == [
        "pending",
        "pending_fix",
        "pending_org_review",
        "resolved",
    ]
    assert "disabled for your organisation" in members[1]["body"]
    assert "docker socket path is wrong" in members[1]["body"]
    assert "enabled again" in members[2]["body"]
    assert members[2]["link"] == f"/action-items/{item_id}"
    # Staff hear the organisation's verdict.
    assert rows[-1]["data"]["audience"] == "staff"


async def test_the_hold_restores_what_the_org_had_chosen(state: AppState, factory: Factory) -> None:
    org = await factory.org("lean")
    assert state.manifest is not None
    async with state.db.tenant_session(org.org_id) as session:
        # A mutating tool, off by default: the fix must not switch it on.
        raised = await raise_action_item(
            session, org.org_id, "restart_service", "crashed", "restart_service crashed", "trace"
        )
    async with state.db.system_session("test") as session:
        held = await action_items.staff_move(
            session, STAFF, state.manifest, raised.id, "pending_fix"
        )
        assert held.tool_held
    async with state.db.system_session("test") as session:
        parked = await action_items.staff_move(session, STAFF, state.manifest, raised.id, "backlog")
        assert not parked.tool_held
    async with state.db.tenant_session(org.org_id) as session:
        from vixpro.tools.catalogue import tool_view

        view = await tool_view(session, state.manifest, "restart_service")
        assert view.enabled is False and view.approval_required is True


async def test_items_are_deduplicated_and_a_recurrence_after_resolution_is_new(
    state: AppState, factory: Factory
) -> None:
    org = await factory.org("lean")
    async with state.db.tenant_session(org.org_id) as session:
        first = await raise_action_item(
            session, org.org_id, "manifest", "manifest_refused", "t", "d"
        )
        again = await raise_action_item(
            session, org.org_id, "manifest", "manifest_refused", "t", "d"
        )
    assert first.created and not again.created and first.id == again.id
    async with state.db.system_session("test") as session:
        for to in ("pending_fix", "pending_org_review", "resolved"):
            await action_items.staff_move(session, STAFF, state.manifest, first.id, to)
    async with state.db.tenant_session(org.org_id) as session:
        later = await raise_action_item(
            session, org.org_id, "manifest", "manifest_refused", "t", "d"
        )
    assert later.created and later.id != first.id
    # "manifest" is not a tool: nothing was held or restored along the way.
    async with state.db.system_session("test") as session:
        detail = await action_items.staff_get(session, STAFF, first.id)
    assert not detail.tool_held and [e.to_status for e in detail.events][-1] == "resolved"
