"""The hot path of tool calls: plain statements as the app role, shared transactions (group
commit), and permission changes that take effect on the next call."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import psycopg
import pytest
from vixpro_agent.protocol import messages as m
from vixpro_agent.protocol import signing

from tests.conftest import Factory, bearer, owner_dsn
from vixpro.accounts.errors import NotFound
from vixpro.accounts.principal import Actor
from vixpro.db.sessions import Database, SharedStatement
from vixpro.db.urls import DatabaseUrls
from vixpro.tools.executions import Requester
from vixpro.web.state import AppState

_PUBLIC_PEM = signing.public_pem(signing.generate_private_key())
_INVERSE = SharedStatement(
    "SELECT r.n, 10 / r.x FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(n int, x int)"
)
_SERVERS = SharedStatement(
    "SELECT r.n, s.id FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(n int, x int) "
    "JOIN servers AS s ON true ORDER BY s.id"
)

_AUDIT = SharedStatement(
    "WITH r AS (SELECT * FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(n int, target text)), "
    "ins AS (INSERT INTO audit_events (id, org_id, actor_type, actor_label, action, target_id) "
    "SELECT gen_random_uuid(), current_setting('app.org_id')::uuid, 'system', 'test', "
    "'test.shared', r.target "
    "FROM r) SELECT r.n FROM r"
)


def add_server(urls: DatabaseUrls, org_id: uuid.UUID) -> uuid.UUID:
    """A registered server whose host agent never connects (calls to it fail as offline)."""
    server_id = uuid.uuid4()
    with psycopg.connect(owner_dsn(urls)) as conn:
        conn.execute(
            "INSERT INTO servers (id, org_id, name, public_key, config) "
            "VALUES (%s, %s, %s, %s, '{}')",
            (server_id, org_id, f"s-{server_id.hex[:6]}", _PUBLIC_PEM),
        )
    return server_id


async def test_one_failing_statement_fails_only_its_caller(database: Database, factory) -> None:
    org = await factory.org()
    answers = await asyncio.gather(
        *(database.tenant_statement(org.org_id, _INVERSE, {"x": x}) for x in (1, 0, 2, 5)),
        return_exceptions=True,
    )
    assert answers[0] == [(10,)] and answers[2] == [(5,)] and answers[3] == [(2,)]
    assert isinstance(answers[1], psycopg.errors.DivisionByZero)


async def test_a_shared_transaction_is_all_or_nothing(
    database: Database, factory: Factory, db_urls: DatabaseUrls
) -> None:
    # The write and the failing statement share one transaction; the write must not survive
    # it (else its retry, alone, would store it twice).
    org = await factory.org()
    target = uuid.uuid4().hex
    answers: list[object] = list(
        await asyncio.gather(
            database.tenant_statement(org.org_id, _AUDIT, {"target": target}),
            database.tenant_statement(org.org_id, _INVERSE, {"x": 0}),
            return_exceptions=True,
        )
    )
    wrote, failed = answers
    assert wrote == [()] and isinstance(failed, psycopg.errors.DivisionByZero)
    with psycopg.connect(owner_dsn(db_urls)) as conn:
        stored = conn.execute(
            "SELECT org_id FROM audit_events WHERE target_id = %s", (target,)
        ).fetchall()
    assert stored == [(org.org_id,)]


async def test_shared_transactions_keep_each_organisation_to_its_rows(
    database: Database, factory: Factory, db_urls: DatabaseUrls
) -> None:
    first, second = await factory.org(), await factory.org()
    mine = {first.org_id: add_server(db_urls, first.org_id)}
    mine[second.org_id] = add_server(db_urls, second.org_id)
    calls = [
        database.tenant_statement(org_id, _SERVERS, {"x": i})
        for i in range(10)
        for org_id in (first.org_id, second.org_id)
    ]
    answers = await asyncio.gather(*calls)
    for i, rows in enumerate(answers):
        org_id = (first.org_id, second.org_id)[i % 2]
        assert rows == [(mine[org_id],)]


async def test_concurrent_requests_are_each_recorded_for_their_own_organisation(
    state: AppState, factory: Factory, db_urls: DatabaseUrls
) -> None:
    assert state.manifest is not None
    first, second = await factory.org(), await factory.org()
    servers = {first.org_id: add_server(db_urls, first.org_id)}
    servers[second.org_id] = add_server(db_urls, second.org_id)

    async def call(org_id: uuid.UUID, server_id: uuid.UUID, label: str) -> object:
        assert state.manifest is not None
        actor = Actor("api_key", uuid.uuid4(), label, "192.0.2.7")
        return await state.runner.request(
            org_id, Requester(actor), state.manifest, server_id, "load_uptime", {}
        )

    jobs = []
    for i in range(12):
        jobs.append(call(first.org_id, servers[first.org_id], f"first-{i}"))
        jobs.append(call(second.org_id, servers[second.org_id], f"second-{i}"))
    # Another organisation's server does not exist for this one (row-level security).
    jobs.append(call(first.org_id, servers[second.org_id], "intruder"))
    answers = await asyncio.gather(*jobs, return_exceptions=True)
    assert isinstance(answers[-1], NotFound)
    for row in answers[:-1]:
        assert not isinstance(row, BaseException), row
        assert row.status == "failed" and row.error_kind == m.ERR_OFFLINE  # type: ignore[attr-defined]
        assert row.server_id == servers[row.org_id]  # type: ignore[attr-defined]
        assert row.finished_at is not None and row.duration_ms is None  # type: ignore[attr-defined]
    with psycopg.connect(owner_dsn(db_urls)) as conn:
        for org_id, prefix in ((first.org_id, "first-"), (second.org_id, "second-")):
            executions = conn.execute(
                "SELECT e.requested_by_label, a.actor_label, a.ip, a.details->>'tool', "
                "a.details->>'approval_required', e.status FROM tool_executions AS e "
                "JOIN audit_events AS a ON a.target_id = e.id::text AND a.action = 'tool.requested' "
                "WHERE e.org_id = %s AND a.org_id = %s",
                (org_id, org_id),
            ).fetchall()
            assert len(executions) == 12
            for label, actor_label, ip, tool, approval, status in executions:
                assert label == actor_label and label.startswith(prefix)
                assert (ip, tool, approval, status) == (
                    "192.0.2.7",
                    "load_uptime",
                    "false",
                    "failed",
                )
        intruder = conn.execute(
            "SELECT count(*) FROM tool_executions WHERE requested_by_label = 'intruder'"
        ).fetchone()
        assert intruder == (0,)


@pytest.fixture(scope="module")
async def org_key(factory: Factory, db_urls: DatabaseUrls) -> tuple[str, uuid.UUID]:
    org = await factory.org()
    return await factory.api_key(org, "admin"), add_server(db_urls, org.org_id)


async def test_disabling_a_tool_refuses_the_very_next_call(
    client: httpx.AsyncClient, org_key: tuple[str, uuid.UUID]
) -> None:
    key, server_id = org_key
    run = f"/api/v1/servers/{server_id}/tools/load_uptime/run"
    before = await client.post(run, headers=bearer(key), json={"params": {}})
    assert before.status_code == 200 and before.json()["error_kind"] == m.ERR_OFFLINE
    assert before.headers["content-type"] == "application/json"
    assert "RateLimit-Limit" in before.headers  # the dependency's headers travel with it
    off = await client.patch(
        "/api/v1/tools/load_uptime", headers=bearer(key), json={"enabled": False}
    )
    assert off.status_code == 200 and off.json()["enabled"] is False
    refused = await client.post(run, headers=bearer(key), json={"params": {}})
    assert refused.status_code == 403 and "disabled" in refused.json()["detail"]
    on = await client.patch(
        "/api/v1/tools/load_uptime", headers=bearer(key), json={"enabled": True}
    )
    assert on.status_code == 200
    again = await client.post(run, headers=bearer(key), json={"params": {}})
    assert again.status_code == 200 and again.json()["status"] == "failed"


async def test_refusals_keep_their_order(
    client: httpx.AsyncClient, org_key: tuple[str, uuid.UUID], db_urls: DatabaseUrls
) -> None:
    key, server_id = org_key
    missing = await client.post(
        f"/api/v1/servers/{uuid.uuid4()}/tools/nope/run", headers=bearer(key), json={}
    )
    assert missing.status_code == 404 and "server" in missing.json()["detail"]
    unknown = await client.post(
        f"/api/v1/servers/{server_id}/tools/nope/run", headers=bearer(key), json={}
    )
    assert unknown.status_code == 404 and "nope" in unknown.json()["detail"]
    # Disabled (a mutate tool by default) is said before the parameters are looked at.
    disabled = await client.post(
        f"/api/v1/servers/{server_id}/tools/restart_service/run",
        headers=bearer(key),
        json={"params": {"bad": 1}},
    )
    assert disabled.status_code == 403, disabled.json()
    invalid = await client.post(
        f"/api/v1/servers/{server_id}/tools/process_details/run",
        headers=bearer(key),
        json={"params": {"pid": "one"}},
    )
    assert invalid.status_code == 422
    with psycopg.connect(owner_dsn(db_urls)) as conn:
        assert conn.execute(
            "SELECT count(*) FROM tool_executions WHERE server_id = %s AND tool <> 'load_uptime'",
            (server_id,),
        ).fetchone() == (0,)
