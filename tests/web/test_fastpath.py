"""The fast path for running a tool: the same answers as the FastAPI route it stands in front of,
FastAPI's own errors for whatever it declines, and the same authentication."""

from __future__ import annotations

import uuid

import httpx
import pytest
from vixpro_agent.protocol import messages as m

from tests.conftest import Factory, bearer
from tests.tools.test_hot_path import add_server
from tests.web.dashboard.conftest import client_for, sign_in
from vixpro.db.urls import DatabaseUrls
from vixpro.web.state import AppState


@pytest.fixture(scope="module")
async def org_key(factory: Factory, db_urls: DatabaseUrls) -> tuple[str, uuid.UUID]:
    org = await factory.org()
    return await factory.api_key(org, "admin"), add_server(db_urls, org.org_id)


def run_path(server_id: uuid.UUID | str, tool: str = "load_uptime") -> str:
    return f"/api/v1/servers/{server_id}/tools/{tool}/run"


async def test_a_run_is_answered_with_the_execution_and_rate_limit_headers(
    client: httpx.AsyncClient, org_key: tuple[str, uuid.UUID]
) -> None:
    key, server_id = org_key
    r = await client.post(run_path(server_id), headers=bearer(key), json={"params": {}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["server_id"] == str(server_id) and body["tool"] == "load_uptime"
    assert body["status"] == "failed" and body["error_kind"] == m.ERR_OFFLINE  # never connected
    assert r.headers["content-type"] == "application/json"
    assert int(r.headers["content-length"]) == len(r.content)
    assert int(r.headers["RateLimit-Remaining"]) < int(r.headers["RateLimit-Limit"])
    listed = await client.get(f"/api/v1/executions/{body['id']}", headers=bearer(key))
    assert listed.status_code == 200 and listed.json()["status"] == "failed"


async def test_the_metrics_label_a_fast_answer_with_the_route_template(
    client: httpx.AsyncClient, org_key: tuple[str, uuid.UUID]
) -> None:
    key, server_id = org_key
    await client.post(run_path(server_id), headers=bearer(key), json={})
    text = (await client.get("/metrics")).text
    assert 'route="/api/v1/servers/{server_id}/tools/{tool}/run"' in text
    assert str(server_id) not in text


@pytest.mark.parametrize(
    ("path_server", "content", "headers", "field"),
    [
        ("not-a-uuid", b'{"params": {}}', {}, "server_id"),
        (None, b'{"params": ', {}, "body"),
        (None, b'{"params": {}, "surprise": 1}', {}, "surprise"),
        (None, b'{"params": {}, "deadline_ms": 5}', {}, "deadline_ms"),
        (None, b"", {}, "body"),
        (None, b'{"params": {}}', {"content-type": "text/plain"}, "body"),
    ],
)
async def test_input_the_fast_path_declines_gets_the_apis_own_validation_error(
    client: httpx.AsyncClient,
    org_key: tuple[str, uuid.UUID],
    path_server: str | None,
    content: bytes,
    headers: dict[str, str],
    field: str,
) -> None:
    key, server_id = org_key
    sent = {"content-type": "application/json", **headers, **bearer(key)}
    r = await client.post(run_path(path_server or server_id), headers=sent, content=content)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["type"].endswith("/validation")
    assert any(field in e["field"] for e in problem["errors"]), problem


async def test_a_body_over_the_limit_is_413_and_runs_nothing(
    client: httpx.AsyncClient, state: AppState, org_key: tuple[str, uuid.UUID]
) -> None:
    key, server_id = org_key
    padding = "x" * (state.settings.max_body_bytes + 10)
    r = await client.post(
        run_path(server_id), headers=bearer(key), json={"params": {"pad": padding}}
    )
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"


async def test_refusals_are_problem_details(
    client: httpx.AsyncClient, org_key: tuple[str, uuid.UUID]
) -> None:
    key, server_id = org_key
    missing = await client.post(run_path(uuid.uuid4()), headers=bearer(key), json={})
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["type"].endswith("/not-found")
    assert missing.json()["instance"].endswith("/run")
    unknown = await client.post(run_path(server_id, "nope"), headers=bearer(key), json={})
    assert unknown.status_code == 404 and "nope" in unknown.json()["detail"]
    invalid = await client.post(
        run_path(server_id, "process_details"),
        headers=bearer(key),
        json={"params": {"pid": "one"}},
    )
    assert invalid.status_code == 422 and invalid.json()["errors"][0]["field"].startswith("params")


async def test_callers_are_authenticated_as_on_every_other_route(
    client: httpx.AsyncClient,
    factory: Factory,
    db_urls: DatabaseUrls,
    org_key: tuple[str, uuid.UUID],
) -> None:
    _key, server_id = org_key
    nobody = await client.post(run_path(server_id), json={})
    assert nobody.status_code == 401 and nobody.headers["www-authenticate"] == "Bearer"
    wrong = await client.post(run_path(server_id), headers=bearer("vxp_wrong"), json={})
    assert wrong.status_code == 401
    basic = await client.post(run_path(server_id), headers={"Authorization": "Basic x"}, json={})
    assert basic.status_code == 401 and "Bearer" in basic.json()["detail"]
    viewer_org = await factory.org()
    viewer = await factory.api_key(viewer_org, "stakeholder")
    theirs = add_server(db_urls, viewer_org.org_id)
    read_only = await client.post(run_path(theirs), headers=bearer(viewer), json={})
    assert read_only.status_code == 403 and read_only.json()["type"].endswith("/read-only")
    # Another organisation's key does not see this server.
    their_admin = await factory.api_key(viewer_org, "admin")
    other = await client.post(run_path(server_id), headers=bearer(their_admin), json={})
    assert other.status_code == 404 and other.json()["detail"].startswith("server")


async def test_a_signed_in_browser_runs_a_tool_with_its_csrf_token(
    state: AppState, factory: Factory, db_urls: DatabaseUrls
) -> None:
    from vixpro.web.app import create_app

    org = await factory.org()
    server_id = add_server(db_urls, org.org_id)
    async with client_for(create_app(state)) as browser:
        csrf = await sign_in(browser, org.owner_email)
        refused = await browser.post(run_path(server_id), json={})
        assert refused.status_code == 403 and refused.json()["type"].endswith("/csrf")
        ran = await browser.post(run_path(server_id), json={}, headers={"X-CSRF-Token": csrf})
        assert ran.status_code == 200 and ran.json()["requested_by_type"] == "user"
