from __future__ import annotations

import pytest

from tests.ai.test_keys import principal
from tests.conftest import Factory, OrgInfo
from vixpro.accounts.errors import Forbidden, InvalidInput, NotFound
from vixpro.ai import areas, keys
from vixpro.core.roles import Role
from vixpro.db.sessions import Database
from vixpro.settings import Settings


@pytest.fixture(scope="module")
async def org(factory: Factory) -> OrgInfo:
    return await factory.org()


async def test_no_chain_means_the_runbook_engine(
    database: Database, settings: Settings, org: OrgInfo
) -> None:
    async with database.tenant_session(org.org_id) as session:
        assert (
            await areas.chain_for(session, settings.master_key_bytes(), org.org_id, "reactive")
            == []
        )


async def test_a_chain_comes_back_in_order_with_keys_unsealed(
    database: Database, settings: Settings, org: OrgInfo
) -> None:
    owner = await principal(database, org)
    master = settings.master_key_bytes()
    async with database.tenant_session(org.org_id) as session:
        claude = await keys.add(
            session, owner, master, kind="anthropic", label="Claude", api_key="sk-ant-1111"
        )
        local = await keys.add(
            session,
            owner,
            master,
            kind="openai_compatible",
            label="vLLM",
            api_key=None,
            base_url="http://10.0.0.5:8000/v1",
        )
        steps = await areas.set_chain(
            session, owner, "reactive", [(claude.id, "claude-sonnet-4-5"), (local.id, "qwen3")]
        )
        assert [(s.kind, s.label, s.model) for s in steps] == [
            ("anthropic", "Claude", "claude-sonnet-4-5"),
            ("openai_compatible", "vLLM", "qwen3"),
        ]
    async with database.tenant_session(org.org_id) as session:
        chain = await areas.chain_for(session, master, org.org_id, "reactive", timeout_s=42)
        chat = await areas.chain_for(session, master, org.org_id, "chat")
    assert [(s.kind, s.model, s.api_key, s.base_url, s.timeout_s) for s in chain] == [
        ("anthropic", "claude-sonnet-4-5", "sk-ant-1111", None, 42),
        ("openai_compatible", "qwen3", "", "http://10.0.0.5:8000/v1", 42),
    ]
    assert chat == []


async def test_deleting_a_key_removes_it_from_every_chain(
    database: Database, settings: Settings, org: OrgInfo
) -> None:
    owner = await principal(database, org)
    master = settings.master_key_bytes()
    async with database.tenant_session(org.org_id) as session:
        a = await keys.add(session, owner, master, kind="openai", label="A", api_key="sk-a")
        b = await keys.add(session, owner, master, kind="xai", label="B", api_key="xai-b")
        await areas.set_chain(session, owner, "circles", [(a.id, "gpt-4.1"), (b.id, "grok-4")])
        await keys.delete(session, owner, a.id)
    async with database.tenant_session(org.org_id) as session:
        assert [s.label for s in await areas.get_chain(session, "circles")] == ["B"]


async def test_chain_input_is_checked(
    database: Database, settings: Settings, factory: Factory, org: OrgInfo
) -> None:
    owner = await principal(database, org)
    other = await factory.org()
    async with database.tenant_session(other.org_id) as session:
        foreign = await keys.add(
            session,
            await principal(database, other),
            settings.master_key_bytes(),
            kind="openai",
            label="F",
            api_key="sk-f",
        )
    async with database.tenant_session(org.org_id) as session:
        with pytest.raises(InvalidInput) as caught:
            await areas.set_chain(session, owner, "weekends", [])
        assert caught.value.field == "area"
        with pytest.raises(NotFound):
            await areas.set_chain(session, owner, "chat", [(foreign.id, "gpt-4.1")])
        mine = await keys.add(
            session, owner, settings.master_key_bytes(), kind="openai", label="M", api_key="sk-m"
        )
        with pytest.raises(InvalidInput) as caught:
            await areas.set_chain(session, owner, "chat", [(mine.id, " ")])
        assert caught.value.field == "chain[0].model"
        with pytest.raises(Forbidden):
            await areas.set_chain(session, await principal(database, org, Role.MEMBER), "chat", [])


def test_every_area_has_a_timeout() -> None:
    assert set(areas.AREA_TIMEOUT_S) == set(areas.AREAS)
    assert areas.AREA_TIMEOUT_S["maintenance"] == 1800
