from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest

from tests.conftest import Factory, bearer
from tests.fakes.llm_openai import FakeOpenAI
from tests.web.dashboard.conftest import client_for, sign_in
from vixpro.ai import areas, usage
from vixpro.ai.providers.base import ProviderSpec
from vixpro.web.app import create_app
from vixpro.web.state import AppState

SECRET = "sk-proj-APITESTSECRET-wxyz"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key=SECRET) as server:
        yield server


async def test_a_key_is_accepted_and_only_its_last_four_ever_come_back(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    org = await factory.org()
    key = await factory.api_key(org)

    made = await client.post(
        "/api/v1/ai/providers",
        headers=bearer(key),
        json={"kind": "openai", "label": "OpenAI prod", "api_key": SECRET},
    )
    listed = await client.get("/api/v1/ai/providers", headers=bearer(key))
    one = await client.get(f"/api/v1/ai/providers/{made.json()['id']}", headers=bearer(key))

    assert made.status_code == 201, made.text
    assert made.json()["key_last4"] == "wxyz" and made.json()["kind_title"] == "OpenAI"
    assert [p["label"] for p in listed.json()] == ["OpenAI prod"]
    for response in (made, listed, one):
        assert "APITESTSECRET" not in response.text
    replaced = await client.patch(
        f"/api/v1/ai/providers/{made.json()['id']}",
        headers=bearer(key),
        json={"api_key": "sk-new-9876"},
    )
    assert replaced.json()["key_last4"] == "9876"
    gone = await client.delete(f"/api/v1/ai/providers/{made.json()['id']}", headers=bearer(key))
    assert gone.status_code == 204
    assert (await client.get("/api/v1/ai/providers", headers=bearer(key))).json() == []


async def test_bad_input_is_a_problem_naming_the_field_without_the_key(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    org = await factory.org()
    key = await factory.api_key(org)

    bad_kind = await client.post(
        "/api/v1/ai/providers",
        headers=bearer(key),
        json={"kind": "hal", "label": "x", "api_key": SECRET},
    )
    bad_key = await client.post(
        "/api/v1/ai/providers",
        headers=bearer(key),
        json={"kind": "openai", "label": "x", "api_key": SECRET + " trailing"},
    )
    no_url = await client.post(
        "/api/v1/ai/providers",
        headers=bearer(key),
        json={"kind": "openai_compatible", "label": "Ollama"},
    )
    unknown_field = await client.post(
        "/api/v1/ai/providers",
        headers=bearer(key),
        json={"kind": "openai", "label": "x", "apikey": SECRET},
    )

    for response, field in (
        (bad_kind, "kind"),
        (bad_key, "api_key"),
        (no_url, "base_url"),
        (unknown_field, "apikey"),
    ):
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["errors"][0]["field"] == field
        assert "APITESTSECRET" not in response.text


async def test_members_cannot_add_keys_and_stakeholders_cannot_write(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    org = await factory.org()
    body = {"kind": "openai", "label": "x", "api_key": "sk-1234"}
    for role in ("member", "stakeholder"):
        key = await factory.api_key(org, role)
        r = await client.post("/api/v1/ai/providers", headers=bearer(key), json=body)
        assert r.status_code == 403, (role, r.text)


async def test_an_areas_chain_is_set_and_read(client: httpx.AsyncClient, factory: Factory) -> None:
    org = await factory.org()
    key = await factory.api_key(org)
    claude = (
        await client.post(
            "/api/v1/ai/providers",
            headers=bearer(key),
            json={"kind": "anthropic", "label": "Claude", "api_key": "sk-ant-1"},
        )
    ).json()
    gemini = (
        await client.post(
            "/api/v1/ai/providers",
            headers=bearer(key),
            json={"kind": "google", "label": "Gemini", "api_key": "AIza-1"},
        )
    ).json()
    chain = [
        {"provider_id": claude["id"], "model": "claude-sonnet-5-5"},
        {"provider_id": gemini["id"], "model": "gemini-3.8-flash"},
    ]

    put = await client.put("/api/v1/ai/areas/reactive", headers=bearer(key), json={"chain": chain})
    every = await client.get("/api/v1/ai/areas", headers=bearer(key))
    bad = await client.put("/api/v1/ai/areas/lunch", headers=bearer(key), json={"chain": []})

    assert put.status_code == 200, put.text
    assert [(s["label"], s["model"]) for s in put.json()["chain"]] == [
        ("Claude", "claude-sonnet-5-5"),
        ("Gemini", "gemini-3.8-flash"),
    ]
    assert put.json()["approval_timeout_s"] == 600
    assert [a["area"] for a in every.json()] == list(areas.AREAS)
    assert every.json()[1]["chain"] == []
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "area"


async def test_test_connection_makes_one_small_request_through_the_sdk(
    client: httpx.AsyncClient, factory: Factory, fake: FakeOpenAI
) -> None:
    org = await factory.org()
    key = await factory.api_key(org)
    good = (
        await client.post(
            "/api/v1/ai/providers",
            headers=bearer(key),
            json={"kind": "openai", "label": "ok", "api_key": SECRET, "base_url": fake.url},
        )
    ).json()
    wrong = (
        await client.post(
            "/api/v1/ai/providers",
            headers=bearer(key),
            json={
                "kind": "openai",
                "label": "wrong",
                "api_key": "sk-WRONGKEY-0000",
                "base_url": fake.url,
            },
        )
    ).json()
    fake.reset()
    fake.text("OK")

    passed = await client.post(
        f"/api/v1/ai/providers/{good['id']}/test",
        headers=bearer(key),
        json={"model": "gpt-6.1-sol"},
    )
    failed = await client.post(
        f"/api/v1/ai/providers/{wrong['id']}/test",
        headers=bearer(key),
        json={"model": "gpt-6.1-sol"},
    )

    assert passed.json() == {
        "ok": True,
        "reason": None,
        "reply": "OK",
        "tokens_in": 11,
        "tokens_out": 7,
    }
    assert failed.json()["ok"] is False
    assert failed.json()["reason"] == "invalid or refused API key (HTTP 401)"
    assert "WRONGKEY" not in failed.text
    assert [r.body["model"] for r in fake.requests] == ["gpt-6.1-sol", "gpt-6.1-sol"]
    sent = fake.requests[0].body
    assert 16 in (sent.get("max_tokens"), sent.get("max_completion_tokens"))


async def test_usage_is_totalled_and_filtered(
    client: httpx.AsyncClient, factory: Factory, state: AppState
) -> None:
    org = await factory.org()
    key = await factory.api_key(org, "stakeholder")
    spec = ProviderSpec(kind="openai", model="gpt-4.1", api_key="k", label="x")
    async with state.db.tenant_session(org.org_id) as session:
        await usage.record(
            session, org.org_id, area="reactive", spec=spec, tokens_in=1_000_000, tokens_out=0
        )
        await usage.record(
            session, org.org_id, area="chat", spec=spec, tokens_in=0, tokens_out=1_000_000
        )

    everything = await client.get("/api/v1/ai/usage", headers=bearer(key))
    chat = await client.get("/api/v1/ai/usage", headers=bearer(key), params={"area": "chat"})
    bad = await client.get("/api/v1/ai/usage", headers=bearer(key), params={"provider": "hal"})

    assert everything.status_code == 200, everything.text
    assert Decimal(everything.json()["cost_usd"]) == Decimal("10")
    assert [line["area"] for line in everything.json()["lines"]] == ["chat", "reactive"]
    assert [line["tokens_out"] for line in chat.json()["lines"]] == [1_000_000]
    assert bad.status_code == 422


async def test_staff_edit_the_price_table(state: AppState, factory: Factory) -> None:
    staff_org = await factory.org(staff=True)
    async with client_for(create_app(state)) as browser:
        csrf = await sign_in(browser, staff_org.owner_email)
        put = await browser.put(
            "/api/v1/staff/model-prices",
            headers={"X-CSRF-Token": csrf},
            json={
                "kind": "openai_compatible",
                "model": "llama3.1",
                "input_per_mtok": "0.05",
                "output_per_mtok": "0.1",
            },
        )
        listed = await browser.get("/api/v1/staff/model-prices")
        negative = await browser.put(
            "/api/v1/staff/model-prices",
            headers={"X-CSRF-Token": csrf},
            json={"kind": "openai", "model": "x", "input_per_mtok": "-1", "output_per_mtok": "1"},
        )
        removed = await browser.delete(
            f"/api/v1/staff/model-prices/{put.json()['id']}", headers={"X-CSRF-Token": csrf}
        )

    assert put.status_code == 200, put.text
    assert Decimal(put.json()["input_per_mtok"]) == Decimal("0.05")
    assert ("openai_compatible", "llama3.1") in {(p["kind"], p["model"]) for p in listed.json()}
    assert negative.status_code == 422 and negative.json()["errors"][0]["field"] == "input_per_mtok"
    assert removed.status_code == 204


async def test_only_staff_see_the_price_table(client: httpx.AsyncClient, factory: Factory) -> None:
    org = await factory.org()
    key = await factory.api_key(org)

    r = await client.get("/api/v1/staff/model-prices", headers=bearer(key))

    assert r.status_code == 401
