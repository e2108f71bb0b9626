from __future__ import annotations

import httpx

from tests.conftest import Factory, bearer


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "migrations": "ok"}


async def test_readyz_fails_when_migrations_are_behind(client: httpx.AsyncClient, state) -> None:
    real = state.head_revision
    state.head_revision = "9999"
    try:
        r = await client.get("/readyz")
    finally:
        state.head_revision = real
    assert r.status_code == 503
    assert "expected 9999" in r.json()["checks"]["migrations"]


async def test_metrics_count_requests_by_route_template(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    org = await factory.org()
    key = await factory.api_key(org)
    members = (await client.get("/api/v1/members", headers=bearer(key))).json()["items"]
    await client.get(f"/api/v1/members/{members[0]['id']}", headers=bearer(key))
    text = (await client.get("/metrics")).text
    assert (
        'vixpro_http_requests_total{method="GET",route="/api/v1/members/{member_id}",status="200"}'
        in text
    )
    assert "vixpro_http_request_duration_seconds_bucket" in text
    assert str(members[0]["id"]) not in text


async def test_openapi_is_3_1_and_docs_are_served(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/api/v1/openapi.json")).json()
    assert spec["openapi"].startswith("3.1")
    assert "/api/v1/me" in spec["paths"]
    docs = await client.get("/api/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
