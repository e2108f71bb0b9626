"""AI usage per provider, model, area and day; and the staff-editable price table behind its cost."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from vixpro.ai import areas, usage
from vixpro.ai.providers.registry import KINDS
from vixpro.web.api.schemas import Strict
from vixpro.web.api.staff import StaffDep
from vixpro.web.deps import PrincipalDep, StateDep
from vixpro.web.problems import ApiError

router = APIRouter(tags=["ai usage"])


class UsageLineOut(BaseModel):
    day: date
    provider_kind: str
    model: str
    area: str
    runs: int
    tokens_in: int
    tokens_out: int
    cost_usd: Decimal | None = Field(
        description="estimate; null when no price is known for the model"
    )
    unpriced_runs: int


class UsageOut(BaseModel):
    lines: list[UsageLineOut]
    runs: int
    tokens_in: int
    tokens_out: int
    cost_usd: Decimal = Field(description="estimate; runs of unpriced models count as zero")


class PriceOut(BaseModel):
    id: UUID
    kind: str
    model: str
    input_per_mtok: Decimal
    output_per_mtok: Decimal
    updated_by: str
    updated_at: datetime


class PriceIn(Strict):
    kind: str
    model: str = Field(min_length=1, max_length=200)
    input_per_mtok: Decimal = Field(description="US dollars per million input tokens")
    output_per_mtok: Decimal = Field(description="US dollars per million output tokens")


@router.get("/ai/usage", response_model=UsageOut, summary="Tokens and estimated cost, per day")
async def get_usage(
    principal: PrincipalDep,
    state: StateDep,
    since: Annotated[datetime | None, Query(description="from this time (inclusive)")] = None,
    until: Annotated[datetime | None, Query(description="to this time (exclusive)")] = None,
    area: Annotated[
        str | None, Query(description="one of reactive, chat, circles, maintenance")
    ] = None,
    provider: Annotated[str | None, Query(description="a provider kind, e.g. anthropic")] = None,
    model: Annotated[str | None, Query(max_length=200)] = None,
) -> UsageOut:
    if area is not None:
        areas.area(area)
    if provider is not None and provider not in KINDS:
        raise ApiError(
            422,
            f"provider: unknown provider {provider!r}; one of: {', '.join(KINDS)}",
            type_="validation",
        )
    async with state.db.tenant_session(principal.org_id) as session:
        summary = await usage.summary(
            session, since=since, until=until, area=area, provider_kind=provider, model=model
        )
    return UsageOut(
        lines=[
            UsageLineOut(
                day=line.day,
                provider_kind=line.provider_kind,
                model=line.model,
                area=line.area,
                runs=line.runs,
                tokens_in=line.tokens_in,
                tokens_out=line.tokens_out,
                cost_usd=line.cost,
                unpriced_runs=line.unpriced_runs,
            )
            for line in summary.lines
        ],
        runs=summary.runs,
        tokens_in=summary.tokens_in,
        tokens_out=summary.tokens_out,
        cost_usd=summary.cost,
    )


def _price_out(row: usage.ModelPrice) -> PriceOut:
    return PriceOut(
        id=row.id,
        kind=row.kind,
        model=row.model,
        input_per_mtok=row.input_per_mtok,
        output_per_mtok=row.output_per_mtok,
        updated_by=row.updated_by,
        updated_at=row.updated_at,
    )


@router.get("/staff/model-prices", response_model=list[PriceOut], summary="The price table (staff)")
async def list_prices(actor: StaffDep, state: StateDep) -> list[PriceOut]:
    async with state.db.system_session("staff: model prices") as session:
        return [_price_out(row) for row in await usage.prices(session)]


@router.put("/staff/model-prices", response_model=PriceOut, summary="Add or change a price (staff)")
async def put_price(body: PriceIn, actor: StaffDep, state: StateDep) -> PriceOut:
    async with state.db.system_session("staff: set model price") as session:
        row = await usage.set_price(
            session,
            actor,
            kind=body.kind,
            model=body.model,
            input_per_mtok=body.input_per_mtok,
            output_per_mtok=body.output_per_mtok,
        )
        return _price_out(row)


@router.delete(
    "/staff/model-prices/{price_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a price (staff)",
)
async def delete_price(price_id: UUID, actor: StaffDep, state: StateDep) -> None:
    async with state.db.system_session("staff: delete model price") as session:
        await usage.delete_price(session, actor, price_id)
