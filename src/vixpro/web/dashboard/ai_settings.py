"""The AI settings page: auto-remediation, the confidence threshold and the tool-call budget."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from vixpro.accounts.errors import InvalidInput
from vixpro.ai import settings as ai_settings
from vixpro.web.dashboard.pages import FORM_ERRORS, Flash, error_message, redirect, render
from vixpro.web.dashboard.session import Member, MemberDep, WriterDep
from vixpro.web.deps import StateDep
from vixpro.web.state import AppState

router = APIRouter(prefix="/ai-settings")


async def _context(state: AppState, member: Member) -> dict[str, Any]:
    async with state.db.tenant_session(member.principal.org_id) as session:
        view = await ai_settings.get(session, member.principal)
    return {
        "view": view,
        "form": {
            "auto_remediation": "true" if view.auto_remediation else "",
            "confidence_threshold": f"{round(view.confidence_threshold * 100)}",
            "tool_call_budget": str(view.tool_call_budget),
        },
        "budget_range": ai_settings.BUDGET_RANGE,
        "manages": member.manages,
    }


@router.get("")
async def settings_page(request: Request, state: StateDep, member: MemberDep) -> Response:
    return render(request, "ai_settings.html", await _context(state, member))


def _number(field: str, text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise InvalidInput(field, "must be a whole number") from None


@router.post("")
async def save(request: Request, state: StateDep, member: WriterDep) -> Response:
    submitted = await request.form()
    form = {
        name: str(submitted.get(name, ""))[:20]
        for name in ("auto_remediation", "confidence_threshold", "tool_call_budget")
    }
    try:
        changes: dict[str, Any] = {
            "auto_remediation": form["auto_remediation"] == "true",
            "confidence_threshold": _number("confidence_threshold", form["confidence_threshold"])
            / 100,
            "tool_call_budget": _number("tool_call_budget", form["tool_call_budget"]),
        }
        async with state.db.tenant_session(member.principal.org_id) as session:
            await ai_settings.update(session, member.principal, changes)
    except FORM_ERRORS as exc:
        status, message = error_message(exc)
        context = await _context(state, member)
        context["form"] = form
        return render(request, "ai_settings.html", context, status=status, error=message)
    return redirect(request, "/ai-settings", member.signed_in, Flash("Saved the AI settings."))
