"""The organisation's AI settings over the API: defaults, changes, bad values named, roles."""

from __future__ import annotations

import httpx

from tests.conftest import Factory, bearer


async def test_defaults_then_changes_are_kept_and_audited(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    org = await factory.org("lean")
    key = await factory.api_key(org, "admin")
    got = await client.get("/api/v1/ai/settings", headers=bearer(key))
    assert got.json() == {
        "auto_remediation": False,
        "plan_allows_remediation": True,
        "confidence_threshold": 0.6,
        "tool_call_budget": 25,
    }
    changed = await client.patch(
        "/api/v1/ai/settings",
        headers=bearer(key),
        json={"auto_remediation": True, "confidence_threshold": 0.8, "tool_call_budget": 10},
    )
    assert changed.status_code == 200, changed.text
    again = (await client.get("/api/v1/ai/settings", headers=bearer(key))).json()
    assert again["auto_remediation"] is True
    assert (again["confidence_threshold"], again["tool_call_budget"]) == (0.8, 10)
    audit = (await client.get("/api/v1/audit-events", headers=bearer(key))).json()["items"]
    assert "ai_settings.updated" in {e["action"] for e in audit}


async def test_out_of_range_values_are_refused_naming_the_field(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    org = await factory.org("lean")
    key = await factory.api_key(org, "admin")
    for body, field in (
        ({"confidence_threshold": 1.5}, "confidence_threshold"),
        ({"tool_call_budget": 0}, "tool_call_budget"),
        ({"tool_call_budget": 500}, "tool_call_budget"),
    ):
        r = await client.patch("/api/v1/ai/settings", headers=bearer(key), json=body)
        assert r.status_code == 422, body
        assert r.headers["content-type"].startswith("application/problem+json")
        assert field in r.text


async def test_members_read_the_settings_but_only_admins_change_them(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    org = await factory.org("lean")
    member = await factory.api_key(org, "member")
    assert (await client.get("/api/v1/ai/settings", headers=bearer(member))).status_code == 200
    r = await client.patch(
        "/api/v1/ai/settings", headers=bearer(member), json={"auto_remediation": True}
    )
    assert r.status_code == 403
    assert "owners and admins" in r.json()["detail"]


async def test_auto_remediation_cannot_be_turned_on_where_the_plan_leaves_it_out(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    org = await factory.org("free")
    key = await factory.api_key(org, "admin")
    r = await client.patch(
        "/api/v1/ai/settings", headers=bearer(key), json={"auto_remediation": True}
    )
    assert r.status_code == 422, r.text
    assert "plan does not include auto-remediation" in r.json()["detail"]
