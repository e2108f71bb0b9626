"""The webhook under fuzzing, over real HTTP: never a 5xx, and every accepted alert is stored."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings

from tests.conftest import PASSWORD, LiveServer, owner_dsn
from tests.ingest.mutation import junk, mutated
from vixpro.accounts import orgs
from vixpro.accounts.principal import CLI, Principal
from vixpro.core.plans import DEFAULT_PLANS
from vixpro.core.roles import Role
from vixpro.incidents import integrations
from vixpro.ingest.registry import ADAPTERS


async def _setup(server: LiveServer) -> tuple[uuid.UUID, dict[str, str]]:
    db = server.state.db
    tag = uuid.uuid4().hex[:8]
    async with db.system_session("test setup") as session:
        created = await orgs.create_org(
            session,
            CLI,
            name=f"fuzz-{tag}",
            plan_code="lean",
            owner_email=f"fuzz-{tag}@example.com",
            owner_password=PASSWORD,
        )
    plan = next(p for p in DEFAULT_PLANS if p.code == "lean")
    principal = Principal(
        "user", created.org_id, "fuzz", Role.OWNER, plan, "fuzz", created.owner_id
    )
    urls: dict[str, str] = {}
    for source in ADAPTERS:
        async with db.tenant_session(created.org_id) as session:
            view = await integrations.create(
                session,
                principal,
                server.settings.master_key_bytes(),
                source=source,
                name=source,
                options={"confirm_hosts": ["127.0.0.1"]} if source == "cloudwatch_sns" else {},
            )
        urls[source] = f"/api/v1/webhooks/{view.token}"
    return created.org_id, urls


@pytest.fixture(scope="module")
def fuzz_target(live_server: LiveServer) -> dict[str, Any]:
    org_id, urls = live_server.call(_setup(live_server))
    return {
        "org_id": org_id,
        "urls": urls,
        "accepted": [0],
        "client": httpx.Client(base_url=live_server.url, timeout=30),
    }


def _post(target: dict[str, Any], source: str, body: bytes) -> None:
    response = target["client"].post(
        target["urls"][source],
        content=body,
        headers={"content-type": "application/json", "x-amz-sns-message-type": "Notification"},
    )
    assert response.status_code in (202, 422), (source, response.status_code, response.text)
    if response.status_code == 202:
        target["accepted"][0] += response.json().get("accepted", 0)
    else:
        problem = response.json()
        assert problem["detail"] and problem["rejected_id"]


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=mutated())
def test_mutated_payloads_never_get_a_5xx(
    fuzz_target: dict[str, Any], case: tuple[str, bytes]
) -> None:
    _post(fuzz_target, *case)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=junk())
def test_junk_never_gets_a_5xx(fuzz_target: dict[str, Any], case: tuple[str, bytes]) -> None:
    _post(fuzz_target, *case)


def test_every_accepted_alert_is_in_the_database(fuzz_target: dict[str, Any], db_urls) -> None:
    with psycopg.connect(owner_dsn(db_urls)) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(count), 0) FROM alerts WHERE org_id = %s", (fuzz_target["org_id"],)
        ).fetchone()
    assert row is not None
    assert fuzz_target["accepted"][0] > 0
    assert row[0] == fuzz_target["accepted"][0]
    fuzz_target["client"].close()
