"""The AI usage page (tokens and estimated cost per day, provider, model and area) and the staff
console's price table behind the estimates."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from vixpro.accounts.errors import InvalidInput
from vixpro.ai import areas, usage
from vixpro.ai.providers.registry import KINDS
from vixpro.web.dashboard.pages import FORM_ERRORS, Flash, error_message, redirect, render
from vixpro.web.dashboard.session import MemberDep, StaffDep, StaffWriterDep
from vixpro.web.deps import StateDep
from vixpro.web.state import AppState

router = APIRouter()
PERIODS = (7, 30, 90)


@router.get("/usage")
async def usage_page(
    request: Request,
    state: StateDep,
    member: MemberDep,
    days: int = 30,
    area: str = "",
    provider: str = "",
) -> Response:
    days = days if days in PERIODS else 30
    area = area if area in areas.AREAS else ""
    provider = provider if provider in KINDS else ""
    since = datetime.now(UTC) - timedelta(days=days)
    async with state.db.tenant_session(member.principal.org_id) as session:
        summary = await usage.summary(
            session, since=since, area=area or None, provider_kind=provider or None
        )
    context = {
        "summary": summary,
        "days": days,
        "area": area,
        "provider": provider,
        "periods": PERIODS,
        "areas": areas.AREAS,
        "kinds": KINDS,
    }
    return render(request, "usage.html", context)


async def _prices_context(state: AppState) -> dict[str, Any]:
    async with state.db.system_session("staff: model prices") as session:
        rows = await usage.prices(session)
    return {"prices": rows, "kinds": KINDS, "form": {}}


@router.get("/staff/prices")
async def prices_page(request: Request, state: StateDep, staff_user: StaffDep) -> Response:
    return render(request, "staff/prices.html", await _prices_context(state))


def _dollars(field: str, text: str) -> Decimal:
    try:
        return Decimal(text.strip())
    except InvalidOperation:
        raise InvalidInput(field, "must be a number of dollars per million tokens") from None


@router.post("/staff/prices")
async def set_price(
    request: Request,
    state: StateDep,
    staff_user: StaffWriterDep,
    kind: Annotated[str, Form(max_length=32)] = "",
    model: Annotated[str, Form(max_length=300)] = "",
    input_per_mtok: Annotated[str, Form(max_length=32)] = "",
    output_per_mtok: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    try:
        async with state.db.system_session("staff: set model price") as session:
            row = await usage.set_price(
                session,
                staff_user.actor,
                kind=kind,
                model=model,
                input_per_mtok=_dollars("input_per_mtok", input_per_mtok),
                output_per_mtok=_dollars("output_per_mtok", output_per_mtok),
            )
            saved = f"{KINDS[row.kind].title} {row.model}"
    except FORM_ERRORS as exc:
        status, message = error_message(exc)
        context = await _prices_context(state)
        context["form"] = {
            "kind": kind,
            "model": model,
            "input_per_mtok": input_per_mtok,
            "output_per_mtok": output_per_mtok,
        }
        return render(request, "staff/prices.html", context, status=status, error=message)
    return redirect(
        request, "/staff/prices", staff_user.signed_in, Flash(f"Saved the price of {saved}.")
    )


@router.post("/staff/prices/{price_id}/delete")
async def delete_price(
    request: Request, state: StateDep, staff_user: StaffWriterDep, price_id: uuid.UUID
) -> Response:
    try:
        async with state.db.system_session("staff: delete model price") as session:
            await usage.delete_price(session, staff_user.actor, price_id)
    except FORM_ERRORS as exc:
        status, message = error_message(exc)
        return render(
            request, "staff/prices.html", await _prices_context(state), status=status, error=message
        )
    return redirect(request, "/staff/prices", staff_user.signed_in, Flash("Removed the price."))
