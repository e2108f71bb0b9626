"""Tokens and estimated cost of AI runs, and their totals per provider, model, area and day.

Cost is an estimate from the platform's price table (``model_prices``, US dollars per million
tokens, editable by staff). A model is priced by its exact row or else by the longest row whose
name is a prefix of it; with no row, the cost is unknown (NULL), not zero.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from vixpro.accounts import audit
from vixpro.accounts.errors import InvalidInput, NotFound
from vixpro.accounts.principal import Actor
from vixpro.ai.providers.base import ProviderSpec
from vixpro.ai.providers.registry import KINDS
from vixpro.db.models.ai import AIUsage, ModelPrice

__all__ = ["ModelPrice", "cost_of", "price_for", "prices", "record", "summary"]

MILLION = Decimal(1_000_000)


async def price_for(session: AsyncSession, kind: str, model: str) -> ModelPrice | None:
    rows = (await session.scalars(select(ModelPrice).where(ModelPrice.kind == kind))).all()
    matches = [row for row in rows if row.model == model or model.startswith(row.model)]
    return max(matches, key=lambda row: len(row.model), default=None)


def cost_of(price: ModelPrice | None, tokens_in: int, tokens_out: int) -> Decimal | None:
    if price is None:
        return None
    total = (price.input_per_mtok * tokens_in + price.output_per_mtok * tokens_out) / MILLION
    return total.quantize(Decimal("0.000001"))


async def record(
    session: AsyncSession,
    org_id: uuid.UUID,
    *,
    area: str,
    spec: ProviderSpec,
    tokens_in: int,
    tokens_out: int,
    incident_id: uuid.UUID | None = None,
    conversation_id: uuid.UUID | None = None,
) -> AIUsage:
    """Write one run's usage (in the caller's transaction) with its estimated cost."""
    price = await price_for(session, spec.kind, spec.model)
    row = AIUsage(
        org_id=org_id,
        area=area,
        provider_kind=spec.kind,
        provider_label=spec.label[:120],
        key_id=uuid.UUID(spec.key_id) if spec.key_id else None,
        model=spec.model[:200],
        tokens_in=max(0, tokens_in),
        tokens_out=max(0, tokens_out),
        cost=cost_of(price, max(0, tokens_in), max(0, tokens_out)),
        incident_id=incident_id,
        conversation_id=conversation_id,
    )
    session.add(row)
    await session.flush()
    return row


@dataclass(frozen=True, slots=True)
class UsageLine:
    day: date
    provider_kind: str
    model: str
    area: str
    runs: int
    tokens_in: int
    tokens_out: int
    cost: Decimal | None
    unpriced_runs: int


@dataclass(frozen=True, slots=True)
class UsageSummary:
    lines: list[UsageLine]
    runs: int
    tokens_in: int
    tokens_out: int
    cost: Decimal


async def summary(
    session: AsyncSession,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    area: str | None = None,
    provider_kind: str | None = None,
    model: str | None = None,
    limit: int = 1000,
) -> UsageSummary:
    """Totals per day, provider, model and area (newest day first), in the session's organisation."""
    day = cast(func.date_trunc("day", AIUsage.at), Date).label("day")
    unpriced = func.count().filter(AIUsage.cost.is_(None))
    query = select(
        day,
        AIUsage.provider_kind,
        AIUsage.model,
        AIUsage.area,
        func.count(),
        func.coalesce(func.sum(AIUsage.tokens_in), 0),
        func.coalesce(func.sum(AIUsage.tokens_out), 0),
        func.sum(AIUsage.cost),
        unpriced,
    ).group_by(day, AIUsage.provider_kind, AIUsage.model, AIUsage.area)
    if since is not None:
        query = query.where(AIUsage.at >= since)
    if until is not None:
        query = query.where(AIUsage.at < until)
    if area is not None:
        query = query.where(AIUsage.area == area)
    if provider_kind is not None:
        query = query.where(AIUsage.provider_kind == provider_kind)
    if model is not None:
        query = query.where(AIUsage.model == model)
    query = query.order_by(day.desc(), AIUsage.provider_kind, AIUsage.model, AIUsage.area).limit(
        limit
    )
    lines = [
        UsageLine(d, kind, m, a, int(runs), int(t_in), int(t_out), cost, int(missing))
        for d, kind, m, a, runs, t_in, t_out, cost, missing in (await session.execute(query)).all()
    ]
    return UsageSummary(
        lines=lines,
        runs=sum(line.runs for line in lines),
        tokens_in=sum(line.tokens_in for line in lines),
        tokens_out=sum(line.tokens_out for line in lines),
        cost=sum((line.cost or Decimal(0) for line in lines), Decimal(0)),
    )


async def prices(session: AsyncSession) -> Sequence[ModelPrice]:
    return (
        await session.scalars(select(ModelPrice).order_by(ModelPrice.kind, ModelPrice.model))
    ).all()


def _price(field: str, value: Decimal) -> Decimal:
    if not value.is_finite() or value < 0 or value > 100_000:
        raise InvalidInput(field, "must be a number of dollars per million tokens, 0 to 100000")
    return value.quantize(Decimal("0.0001"))


async def set_price(
    session: AsyncSession,
    actor: Actor,
    *,
    kind: str,
    model: str,
    input_per_mtok: Decimal,
    output_per_mtok: Decimal,
) -> ModelPrice:
    """Add or change the price of ``kind``/``model`` (staff; system session)."""
    if kind not in KINDS:
        raise InvalidInput("kind", f"unknown provider {kind!r}; one of: {', '.join(KINDS)}")
    model = model.strip()
    if not model or len(model) > 200:
        raise InvalidInput("model", "must be 1 to 200 characters")
    price_in = _price("input_per_mtok", input_per_mtok)
    price_out = _price("output_per_mtok", output_per_mtok)
    row = await session.scalar(
        select(ModelPrice).where(ModelPrice.kind == kind, ModelPrice.model == model)
    )
    if row is None:
        row = ModelPrice(kind=kind, model=model)
        session.add(row)
    row.input_per_mtok, row.output_per_mtok = price_in, price_out
    row.updated_by = actor.label[:254]
    row.updated_at = func.now()
    await session.flush()
    await session.refresh(row)
    await audit.record(
        session,
        actor,
        "model_price.set",
        org_id=None,
        target_type="model_price",
        target_id=row.id,
        details={"kind": kind, "model": model, "input": str(price_in), "output": str(price_out)},
    )
    return row


async def delete_price(session: AsyncSession, actor: Actor, price_id: uuid.UUID) -> None:
    row = await session.get(ModelPrice, price_id)
    if row is None:
        raise NotFound("model price")
    await session.delete(row)
    await audit.record(
        session,
        actor,
        "model_price.deleted",
        org_id=None,
        target_type="model_price",
        target_id=price_id,
        details={"kind": row.kind, "model": row.model},
    )
