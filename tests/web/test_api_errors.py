"""Bad input gets a clear problem+json naming what is wrong; nothing secret leaks."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from tests.conftest import Factory, bearer

PROBLEM = "application/problem+json"


async def _key(factory: Factory, plan: str = "lean", role: str = "admin") -> str:
    return await factory.api_key(await factory.org(plan), role)


async def test_malformed_json_is_422_naming_the_body(client: httpx.AsyncClient, factory) -> None:
    key = await _key(factory)
    r = await client.post(
        "/api/v1/api-keys",
        content=b"{not json",
        headers={**bearer(key), "content-type": "application/json"},
    )
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    assert "not valid JSON" in r.json()["detail"]


async def test_missing_and_unknown_fields_are_named(client: httpx.AsyncClient, factory) -> None:
    key = await _key(factory)
    r = await client.post(
        "/api/v1/api-keys", json={"nme": "x", "role": "admin"}, headers=bearer(key)
    )
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"name", "nme"}


async def test_service_validation_names_the_field(client: httpx.AsyncClient, factory) -> None:
    key = await _key(factory)
    r = await client.post(
        "/api/v1/invitations", json={"email": "nope", "role": "member"}, headers=bearer(key)
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "email"
    r = await client.post(
        "/api/v1/api-keys", json={"name": "k", "role": "owner"}, headers=bearer(key)
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "role"


async def test_unknown_route_is_404_problem(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/no-such-thing")
    assert r.status_code == 404
    assert r.headers["content-type"] == PROBLEM
    assert "no such route" in r.json()["detail"]


async def test_oversized_body_is_413(client: httpx.AsyncClient, factory) -> None:
    key = await _key(factory)
    big = b'{"name": "' + b"x" * (1024 * 1024 + 10) + b'", "role": "admin"}'
    r = await client.post(
        "/api/v1/api-keys", content=big, headers={**bearer(key), "content-type": "application/json"}
    )
    assert r.status_code == 413
    assert r.headers["content-type"] == PROBLEM


async def test_oversized_streamed_body_without_length_is_413(
    client: httpx.AsyncClient, factory
) -> None:
    key = await _key(factory)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"x" * 65536

    r = await client.post(
        "/api/v1/api-keys",
        content=chunks(),
        headers={**bearer(key), "content-type": "application/json"},
    )
    assert r.status_code == 413


async def test_bad_or_revoked_key_is_401(client: httpx.AsyncClient, factory) -> None:
    key = await _key(factory)
    r = await client.get("/api/v1/me", headers=bearer(key[:-2] + "zz"))
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert key[-10:] not in r.text
    me = (await client.get("/api/v1/api-keys", headers=bearer(key))).json()["items"][0]
    assert (
        await client.delete(f"/api/v1/api-keys/{me['id']}", headers=bearer(key))
    ).status_code == 204
    assert (await client.get("/api/v1/me", headers=bearer(key))).status_code == 401
    r = await client.get("/api/v1/me", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401


async def test_no_credentials_is_401(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/me")
    assert r.status_code == 401 and r.headers["content-type"] == PROBLEM


async def test_stakeholder_writes_are_403_everywhere(client: httpx.AsyncClient, factory) -> None:
    key = await _key(factory, role="stakeholder")
    assert (await client.get("/api/v1/members", headers=bearer(key))).status_code == 200
    for method, path, body in [
        ("POST", "/api/v1/api-keys", {"name": "k", "role": "stakeholder"}),
        ("POST", "/api/v1/invitations", {"email": "a@example.com", "role": "stakeholder"}),
        ("PATCH", "/api/v1/org", {"name": "renamed"}),
    ]:
        r = await client.request(method, path, json=body, headers=bearer(key))
        assert r.status_code == 403, path
        assert "read-only" in r.json()["detail"]


async def test_member_cannot_manage_team_or_keys(client: httpx.AsyncClient, factory) -> None:
    key = await _key(factory, role="member")
    r = await client.post(
        "/api/v1/api-keys", json={"name": "k", "role": "member"}, headers=bearer(key)
    )
    assert r.status_code == 403
    r = await client.get("/api/v1/audit-events", headers=bearer(key))
    assert r.status_code == 403


async def test_rate_limit_is_per_org_per_hour_with_headers(
    client: httpx.AsyncClient, factory
) -> None:
    org = await factory.org("free")  # 1 API request per hour
    key = await factory.api_key(org, "admin")
    other_key = await factory.api_key(org, "stakeholder")
    first = await client.get("/api/v1/me", headers=bearer(key))
    assert first.status_code == 200
    assert first.headers["RateLimit-Limit"] == "1"
    assert first.headers["RateLimit-Remaining"] == "0"
    second = await client.get("/api/v1/me", headers=bearer(other_key))  # same org, other key
    assert second.status_code == 429
    assert int(second.headers["Retry-After"]) > 0
    body = second.json()
    assert body["plan"] == "free" and "1 API requests per hour" in body["detail"]
    # Another organisation is not affected.
    assert (await client.get("/api/v1/me", headers=bearer(await _key(factory)))).status_code == 200


async def test_pagination_walks_every_item_once(client: httpx.AsyncClient, factory) -> None:
    org = await factory.org()
    key = await factory.api_key(org)
    for i in range(4):
        await client.post(
            "/api/v1/api-keys", json={"name": f"k{i}", "role": "member"}, headers=bearer(key)
        )
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/api-keys", params=params, headers=bearer(key))).json()
        seen += [k["id"] for k in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 5 and len(set(seen)) == 5
    bad = await client.get("/api/v1/api-keys", params={"cursor": "garbage!"}, headers=bearer(key))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"
    bad = await client.get("/api/v1/api-keys", params={"limit": 0}, headers=bearer(key))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "limit"
