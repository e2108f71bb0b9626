from __future__ import annotations

from tests.conftest import Factory, bearer


async def test_me_with_api_key(client, factory: Factory) -> None:
    org = await factory.org()
    key = await factory.api_key(org)
    r = await client.get("/api/v1/me", headers=bearer(key))
    assert r.status_code == 200, r.text
    assert r.json()["org_name"] == org.name
    assert r.headers["RateLimit-Limit"] == "2000"
