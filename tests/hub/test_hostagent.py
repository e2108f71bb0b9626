"""Real host agents against a live platform on loopback: enrol, connect, run tools, approvals,
refused manifests, tamper detection, offline handling, reconnecting."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from vixpro_agent.protocol import messages as m
from vixpro_agent.protocol import signing

from tests.conftest import Factory, LiveServer
from tests.hub.agents import RunningAgent, bearer, enrol, run_tool, server, wait_connected, wait_for


@pytest.fixture(scope="module")
async def admin_key(factory: Factory) -> str:
    org = await factory.org("lean")
    return await factory.api_key(org, "admin")


@pytest.fixture(scope="module")
def agent(live_server: LiveServer, admin_key: str) -> Iterator[RunningAgent]:
    running = enrol(live_server.url, admin_key).start()
    wait_connected(live_server.url, admin_key, running.server_id)
    yield running
    running.stop()


def _events(base: str, key: str, server_id: str) -> list[dict[str, str]]:
    return list(httpx.get(f"{base}/api/v1/servers/{server_id}/events", headers=bearer(key)).json())


def test_enrolled_server_is_online_with_host_facts(live_server, admin_key, agent) -> None:
    s = server(live_server.url, admin_key, agent.server_id)
    assert s["status"] == "online" and s["connected"]
    assert s["facts"]["hostname"] and s["facts"]["cpu_count"] >= 1
    assert s["manifest_version"] >= 1


def test_read_tool_runs_and_is_on_the_record(live_server, admin_key, agent) -> None:
    r = run_tool(live_server.url, admin_key, agent.server_id, "load_uptime")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "succeeded", body
    assert isinstance(body["output"], dict) and body["duration_ms"] is not None
    listed = httpx.get(
        f"{live_server.url}/api/v1/executions",
        params={"server_id": agent.server_id},
        headers=bearer(admin_key),
    ).json()["items"]
    assert body["id"] in [e["id"] for e in listed]
    assert listed[0]["requested_by"].startswith("API key")


def test_bad_parameters_are_named_before_anything_runs(live_server, admin_key, agent) -> None:
    r = run_tool(live_server.url, admin_key, agent.server_id, "process_details", {"pid": "one"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"].startswith("params")


def test_disabled_mutate_tool_is_refused(live_server, admin_key, agent) -> None:
    r = run_tool(
        live_server.url,
        admin_key,
        agent.server_id,
        "delete_old_files",
        {"path": "/tmp", "older_than_days": 30},
    )
    assert r.status_code == 403 and "disabled" in r.json()["detail"]


def _old_file(tmp_root: Path) -> Path:
    target = tmp_root / "old.log"
    target.write_text("x")
    past = time.time() - 10 * 86400
    os.utime(target, (past, past))
    return target


def test_mutate_tool_approved_denied_and_expired(live_server, admin_key, agent, db_urls) -> None:
    base = live_server.url
    r = httpx.patch(
        f"{base}/api/v1/tools/delete_old_files", headers=bearer(admin_key), json={"enabled": True}
    )
    assert r.status_code == 200 and r.json()["approval_required"] is True
    work = Path("/tmp") / f"vxclean-{agent.server_id[:8]}"
    work.mkdir(exist_ok=True)
    old = _old_file(work)
    params = {"path": str(work), "older_than_days": 1}

    # Approved: runs, the file is gone.
    pending = run_tool(base, admin_key, agent.server_id, "delete_old_files", params)
    assert pending.status_code == 202 and pending.json()["status"] == "awaiting_approval"
    approvals = httpx.get(f"{base}/api/v1/approvals", headers=bearer(admin_key)).json()
    approval = next(a for a in approvals if a["execution"]["id"] == pending.json()["id"])
    decided = httpx.post(
        f"{base}/api/v1/approvals/{approval['approval']['id']}/decision",
        headers=bearer(admin_key),
        json={"approve": True},
    )
    assert decided.status_code == 200 and decided.json()["state"] == "approved"
    done = wait_for(
        lambda: (
            (
                e := httpx.get(
                    f"{base}/api/v1/executions/{pending.json()['id']}", headers=bearer(admin_key)
                ).json()
            )["status"]
            in ("succeeded", "failed")
            and e
        )
    )
    assert done["status"] == "succeeded", done
    assert not old.exists()

    # Denied: never runs.
    old = _old_file(work)
    pending = run_tool(base, admin_key, agent.server_id, "delete_old_files", params)
    approval_id = pending.json()["approval"]["id"]
    denied = httpx.post(
        f"{base}/api/v1/approvals/{approval_id}/decision",
        headers=bearer(admin_key),
        json={"approve": False, "reason": "not now"},
    )
    assert denied.json()["state"] == "denied"
    e = httpx.get(
        f"{base}/api/v1/executions/{pending.json()['id']}", headers=bearer(admin_key)
    ).json()
    assert e["status"] == "denied" and old.exists()

    # Expired: past its time, it cannot be approved any more.
    pending = run_tool(base, admin_key, agent.server_id, "delete_old_files", params)
    approval_id = pending.json()["approval"]["id"]
    import psycopg

    from vixpro.db.urls import libpq_url

    with psycopg.connect(libpq_url(db_urls.owner)) as conn:
        conn.execute(
            "UPDATE approvals SET expires_at = now() - interval '1 second' WHERE id = %s",
            (approval_id,),
        )
    late = httpx.post(
        f"{base}/api/v1/approvals/{approval_id}/decision",
        headers=bearer(admin_key),
        json={"approve": True},
    )
    assert late.status_code == 409 and "expired" in late.json()["detail"]
    e = httpx.get(
        f"{base}/api/v1/executions/{pending.json()['id']}", headers=bearer(admin_key)
    ).json()
    assert e["status"] == "expired" and old.exists()


async def test_only_owners_and_admins_decide(live_server, admin_key, agent, factory) -> None:
    base = live_server.url
    pending = run_tool(
        base,
        admin_key,
        agent.server_id,
        "delete_old_files",
        {"path": "/tmp", "older_than_days": 3650},
    )
    approval_id = pending.json()["approval"]["id"]
    me = httpx.get(f"{base}/api/v1/me", headers=bearer(admin_key)).json()
    import uuid

    from tests.conftest import OrgInfo

    ours = OrgInfo(uuid.UUID(me["org_id"]), me["org_name"], "", uuid.UUID(me["org_id"]))
    for role, expected in (("member", "only owners and admins"), ("stakeholder", "read-only")):
        key = await factory.api_key(ours, role)
        r = httpx.post(
            f"{base}/api/v1/approvals/{approval_id}/decision",
            headers=bearer(key),
            json={"approve": True},
        )
        assert r.status_code == 403 and expected in r.json()["detail"]


def _push(live_server: LiveServer, server_id: str, message: dict[str, Any]) -> None:
    import uuid

    async def send() -> None:
        session = live_server.state.hub.sessions[uuid.UUID(server_id)]
        await session.send(message)

    live_server.call(send())


def test_forged_replayed_and_unsigned_manifests_are_refused(live_server, admin_key, agent) -> None:
    base = live_server.url
    current = live_server.state.manifest
    assert current is not None
    forger = signing.generate_private_key()
    newer = {**current.body, "version": current.version + 10}
    _push(
        live_server,
        agent.server_id,
        m.message(m.MANIFEST, document=signing.sign_document(forger, newer)),
    )
    older = {**current.body, "version": current.version - 1 if current.version > 1 else 0}
    assert live_server.state.signer is not None
    _push(
        live_server,
        agent.server_id,
        m.message(m.MANIFEST, document=live_server.state.signer.sign(older)),
    )
    _push(live_server, agent.server_id, m.message(m.MANIFEST, document={"body": newer}))
    refused = wait_for(
        lambda: (
            [
                e
                for e in _events(base, admin_key, agent.server_id)
                if e["kind"] == "manifest_refused"
            ]
            if len(
                [
                    e
                    for e in _events(base, admin_key, agent.server_id)
                    if e["kind"] == "manifest_refused"
                ]
            )
            >= 3
            else None
        )
    )
    assert len(refused) >= 3
    # The host agent kept the real manifest and still runs tools.
    r = run_tool(base, admin_key, agent.server_id, "memory_swap")
    assert r.json()["status"] == "succeeded", r.json()


def test_edited_config_is_reported_and_mutate_tools_refused(live_server, admin_key, agent) -> None:
    base = live_server.url
    config_file = agent.state_dir / "config.json"
    document = json.loads(config_file.read_text())
    document["body"]["allowed_cleanup_roots"] = ["/"]
    config_file.write_text(json.dumps(document))
    s = wait_for(
        lambda: (s := server(base, admin_key, agent.server_id))["status"] == "tampered" and s,
        timeout=60,
    )
    assert s["tamper_detail"]
    events = _events(base, admin_key, agent.server_id)
    assert any(e["kind"] == "tampered" and e["severity"] == "critical" for e in events)
    # Mutate tools are refused (by the platform first; the host agent's own refusal is tested
    # in agent/tests/test_tamper.py); read tools still run.
    httpx.patch(
        f"{base}/api/v1/tools/delete_old_files",
        headers=bearer(admin_key),
        json={"enabled": True, "approval_required": False},
    )
    r = run_tool(
        base,
        admin_key,
        agent.server_id,
        "delete_old_files",
        {"path": "/tmp", "older_than_days": 3650},
    )
    assert r.status_code == 403 and "tampered" in r.json()["detail"], r.json()
    assert run_tool(base, admin_key, agent.server_id, "load_uptime").json()["status"] == "succeeded"
    # A fresh signed config clears it.
    r = httpx.patch(
        f"{base}/api/v1/servers/{agent.server_id}",
        headers=bearer(admin_key),
        json={"reissue_config": True},
    )
    assert r.status_code == 200 and r.json()["status"] == "online"
    wait_for(
        lambda: json.loads(config_file.read_text())["body"]["version"] == r.json()["config_version"]
    )
    httpx.patch(
        f"{base}/api/v1/tools/delete_old_files",
        headers=bearer(admin_key),
        json={"approval_required": True},
    )


def test_offline_host_agent_fails_at_once(live_server, admin_key, factory) -> None:
    base = live_server.url
    other = enrol(base, admin_key).start()
    try:
        wait_connected(base, admin_key, other.server_id)
    finally:
        other.kill()
    wait_connected(base, admin_key, other.server_id, connected=False)
    started = time.monotonic()
    r = run_tool(base, admin_key, other.server_id, "load_uptime")
    assert r.json()["status"] == "failed" and r.json()["error_kind"] == m.ERR_OFFLINE
    assert time.monotonic() - started < 5


async def test_enrolment_beyond_the_server_limit_is_refused(live_server, factory) -> None:
    org = await factory.org("starter")  # one server
    key = await factory.api_key(org, "admin")
    public = signing.public_pem(signing.generate_private_key())
    answers = []
    for _ in range(2):
        token = httpx.post(
            f"{live_server.url}/api/v1/servers/enrollment-tokens", headers=bearer(key)
        )
        answers.append(
            httpx.post(
                f"{live_server.url}/api/v1/hostagent/enroll",
                json={
                    "token": token.json()["token"],
                    "public_key": public,
                    "facts": {"hostname": "h"},
                },
            )
        )
    assert answers[0].status_code == 201
    assert answers[1].status_code == 403
    assert (
        answers[1].json()["limit"] == "servers"
        and "Starter plan allows 1 servers" in answers[1].json()["detail"]
    )
    # A used token cannot enrol again.
    again = httpx.post(
        f"{live_server.url}/api/v1/hostagent/enroll",
        json={"token": "x" * 43, "public_key": public, "facts": {}},
    )
    assert again.status_code == 404


def test_unavailable_tool_raises_one_action_item(live_server, admin_key, agent, db_urls) -> None:
    import psycopg

    from vixpro.db.urls import libpq_url

    for _ in range(2):
        r = run_tool(live_server.url, admin_key, agent.server_id, "docker_containers")
        body = r.json()
        assert body["status"] == "failed" and body["error_kind"] == m.ERR_UNAVAILABLE, body
        assert "docker" in body["error"].lower()
    with psycopg.connect(libpq_url(db_urls.owner)) as conn:
        rows = conn.execute(
            "SELECT a.status, a.occurrences FROM action_items a JOIN servers s ON s.org_id = a.org_id "
            "WHERE s.id = %s AND a.tool = 'docker_containers' AND a.error_kind = 'unavailable'",
            (agent.server_id,),
        ).fetchall()
    assert rows == [("pending", 2)]


def test_new_manifest_is_pushed_live_without_dropping_calls(live_server, admin_key, agent) -> None:
    import threading

    from vixpro.db.models import Manifest

    state = live_server.state
    assert state.signer is not None and state.manifest is not None
    results: list[httpx.Response] = []
    calls = [
        threading.Thread(
            target=lambda: results.append(
                run_tool(live_server.url, admin_key, agent.server_id, "top_processes_cpu")
            )
        )
        for _ in range(4)
    ]
    for call in calls:
        call.start()

    async def publish() -> int:
        assert state.signer is not None and state.manifest is not None
        version = int(state.manifest.version) + 1
        body = {**state.manifest.body, "version": version}
        async with state.db.system_session("test: new manifest") as session:
            session.add(
                Manifest(version=version, body=body, signature=state.signer.sign(body)["signature"])
            )
        await state.hub.broadcast_manifest()
        return version

    version = live_server.call(publish())
    for call in calls:
        call.join(60)
    assert [r.json()["status"] for r in results] == ["succeeded"] * 4
    stored = agent.state_dir / "manifest.json"
    wait_for(lambda: json.loads(stored.read_text())["body"]["version"] == version)
    assert (
        run_tool(live_server.url, admin_key, agent.server_id, "load_uptime").json()["status"]
        == "succeeded"
    )
