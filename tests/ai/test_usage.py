from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import update

from tests.conftest import Factory, OrgInfo
from vixpro.ai import usage
from vixpro.ai.providers.base import ProviderSpec
from vixpro.db.models.ai import AIUsage
from vixpro.db.sessions import Database


def _spec(kind: str, model: str) -> ProviderSpec:
    return ProviderSpec(kind=kind, model=model, api_key="k", label=f"{kind} key")


async def _record(
    database: Database, org: OrgInfo, area: str, spec: ProviderSpec, tokens: tuple[int, int]
) -> AIUsage:
    """One run's usage (tokens in, tokens out), recorded in its own transaction."""
    async with database.tenant_session(org.org_id) as session:
        return await usage.record(
            session, org.org_id, area=area, spec=spec, tokens_in=tokens[0], tokens_out=tokens[1]
        )


@pytest.fixture(scope="module")
async def org(factory: Factory) -> OrgInfo:
    return await factory.org()


async def test_cost_comes_from_the_seeded_price_table(database: Database, org: OrgInfo) -> None:
    row = await _record(database, org, "reactive", _spec("openai", "gpt-4.1"), (1_000_000, 500_000))
    # gpt-4.1: $2 in, $8 out per million tokens.
    assert row.cost == Decimal("6.000000")


async def test_a_dated_model_name_is_priced_by_its_longest_prefix(
    database: Database, org: OrgInfo
) -> None:
    mini = await _record(
        database, org, "chat", _spec("openai", "gpt-4.1-mini-2025-04-14"), (1000, 1000)
    )
    assert mini.cost == Decimal("0.002000")  # (0.4 + 1.6) / 1000


async def test_an_unpriced_model_has_unknown_cost_not_zero(
    database: Database, org: OrgInfo
) -> None:
    row = await _record(database, org, "chat", _spec("openai_compatible", "llama3.1"), (10, 5))
    assert row.cost is None


async def test_summary_totals_per_day_provider_model_and_area(
    database: Database, factory: Factory
) -> None:
    org = await factory.org()
    other = await factory.org()
    async with database.tenant_session(org.org_id) as session:
        for _ in range(2):
            await usage.record(
                session,
                org.org_id,
                area="reactive",
                spec=_spec("anthropic", "claude-sonnet-4-5"),
                tokens_in=1000,
                tokens_out=100,
            )
        await usage.record(
            session,
            org.org_id,
            area="chat",
            spec=_spec("anthropic", "claude-sonnet-4-5"),
            tokens_in=10,
            tokens_out=1,
        )
        old = await usage.record(
            session,
            org.org_id,
            area="reactive",
            spec=_spec("google", "gemini-2.5-flash"),
            tokens_in=5,
            tokens_out=5,
        )
        await session.execute(
            update(AIUsage).where(AIUsage.id == old.id).values(at=AIUsage.at - timedelta(days=3))
        )
    await _record(database, other, "reactive", _spec("anthropic", "claude-sonnet-4-5"), (999, 999))

    async with database.tenant_session(org.org_id) as session:
        everything = await usage.summary(session)
        reactive = await usage.summary(session, area="reactive")

    assert [
        (line.provider_kind, line.model, line.area, line.runs, line.tokens_in, line.tokens_out)
        for line in everything.lines
    ] == [
        ("anthropic", "claude-sonnet-4-5", "chat", 1, 10, 1),
        ("anthropic", "claude-sonnet-4-5", "reactive", 2, 2000, 200),
        ("google", "gemini-2.5-flash", "reactive", 1, 5, 5),
    ]
    assert everything.lines[0].day == everything.lines[1].day > everything.lines[2].day
    # claude-sonnet-4: $3 in, $15 out per million.
    assert everything.lines[1].cost == Decimal("0.009000")
    assert (everything.runs, everything.tokens_in, everything.tokens_out) == (4, 2015, 206)
    assert [line.area for line in reactive.lines] == ["reactive", "reactive"]
