"""The platform staff console: every organisation, moving one to another plan, editing plans.

Every read here crosses organisations, so each runs in a named system session and is audited by
the service.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from vixpro.accounts import plans, staff
from vixpro.accounts.errors import InvalidInput
from vixpro.web.dashboard.pages import FORM_ERRORS, Flash, error_message, redirect, render
from vixpro.web.dashboard.session import Staff, StaffDep, StaffWriterDep
from vixpro.web.deps import StateDep
from vixpro.web.state import AppState

router = APIRouter(prefix="/staff")
BOOL_FIELDS = frozenset({"alert_triage", "auto_remediation", "priority_support"})
TEXT_FIELDS = frozenset({"name"})
FIELD_LABELS = {
    "name": "Name",
    "price_cents": "Price (cents)",
    "max_servers": "Servers",
    "max_team_members": "Team members",
    "max_stakeholders": "Stakeholder seats",
    "api_requests_per_hour": "API requests per hour",
    "alert_budget_per_server_day": "Alerts per server per day",
    "max_concurrent_reactive_agents": "Concurrent reactive AI agents",
    "alert_triage": "Alert triage",
    "auto_remediation": "Auto remediation",
    "priority_support": "Priority support",
}


@router.get("")
async def orgs_page(request: Request, state: StateDep, staff_user: StaffDep) -> Response:
    async with state.db.system_session("staff console: list organisations") as session:
        rows = await staff.list_orgs(session, staff_user.actor)
    return render(request, "staff/orgs.html", {"orgs": rows})


async def _org_context(state: AppState, staff_user: Staff, org_id: uuid.UUID) -> dict[str, Any]:
    async with state.db.system_session("staff console: organisation detail") as session:
        detail = await staff.org_detail(session, staff_user.actor, org_id)
        all_plans = await plans.list_plans(session)
    return {"detail": detail, "plans": all_plans}


@router.get("/orgs/{org_id}")
async def org_page(
    request: Request, state: StateDep, staff_user: StaffDep, org_id: uuid.UUID
) -> Response:
    return render(request, "staff/org.html", await _org_context(state, staff_user, org_id))


@router.post("/orgs/{org_id}/plan")
async def set_org_plan(
    request: Request,
    state: StateDep,
    staff_user: StaffWriterDep,
    org_id: uuid.UUID,
    plan_code: Annotated[str, Form(max_length=32)],
) -> Response:
    try:
        async with state.db.system_session("staff console: set plan") as session:
            await staff.set_org_plan(session, staff_user.actor, org_id, plan_code)
    except FORM_ERRORS as exc:
        status, message = error_message(exc)
        context = await _org_context(state, staff_user, org_id)
        return render(request, "staff/org.html", context, status=status, error=message)
    flash = Flash(f"Moved to the {plan_code} plan.")
    return redirect(request, f"/staff/orgs/{org_id}", staff_user.signed_in, flash)


async def _plans_context(state: AppState) -> dict[str, Any]:
    async with state.db.system_session("staff console: list plans") as session:
        rows = await plans.list_plans(session)
    numbers = [f for f in plans.EDITABLE if f not in BOOL_FIELDS | TEXT_FIELDS]
    return {
        "plans": rows,
        "labels": FIELD_LABELS,
        "number_fields": numbers,
        "bool_fields": [f for f in plans.EDITABLE if f in BOOL_FIELDS],
        "failed_code": None,
    }


@router.get("/plans")
async def plans_page(request: Request, state: StateDep, staff_user: StaffDep) -> Response:
    return render(request, "staff/plans.html", await _plans_context(state))


def plan_changes(form: FormData) -> dict[str, Any]:
    """The editable fields present in the form, converted from text; absent fields stay as they are."""
    changes: dict[str, Any] = {}
    for field in plans.EDITABLE:
        raw = form.get(field)
        if not isinstance(raw, str):
            continue
        value = raw.strip()
        if field in BOOL_FIELDS:
            if value not in ("true", "false"):
                raise InvalidInput(field, "must be true or false")
            changes[field] = value == "true"
        elif field in TEXT_FIELDS:
            changes[field] = value
        else:
            try:
                changes[field] = int(value)
            except ValueError:
                raise InvalidInput(field, "must be a whole number of 0 or more") from None
    return changes


@router.post("/plans/{code}")
async def edit_plan(
    request: Request, state: StateDep, staff_user: StaffWriterDep, code: str
) -> Response:
    try:
        changes = plan_changes(await request.form())
        async with state.db.system_session("staff console: edit plan") as session:
            updated = await plans.update_plan(session, staff_user.actor, code, changes)
    except FORM_ERRORS as exc:
        status, message = error_message(exc)
        context = await _plans_context(state)
        context["failed_code"] = code
        return render(request, "staff/plans.html", context, status=status, error=message)
    flash = Flash(f"The {updated.name} plan was saved.")
    return redirect(request, "/staff/plans", staff_user.signed_in, flash)
