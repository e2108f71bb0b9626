"""The AI providers page: keys per provider (shown by their last four characters), a test
connection button, and each area's ordered provider chain."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from vixpro.accounts.errors import InvalidInput
from vixpro.ai import areas, keys
from vixpro.ai.providers.probe import ProbeResult, probe
from vixpro.ai.providers.registry import KINDS
from vixpro.web.dashboard.pages import FORM_ERRORS, Flash, error_message, redirect, render
from vixpro.web.dashboard.session import Member, MemberDep, WriterDep
from vixpro.web.deps import StateDep
from vixpro.web.state import AppState

router = APIRouter(prefix="/ai/providers")
# Rows in each area's chain editor: the chain's steps, then empty rows to add more.
EDITOR_ROWS = 4
AREA_TITLES = {
    "reactive": "Reactive (alerts)",
    "chat": "Chat",
    "circles": "Circles (scheduled checks)",
    "maintenance": "Maintenance",
}


async def _context(state: AppState, member: Member) -> dict[str, Any]:
    async with state.db.tenant_session(member.principal.org_id) as session:
        rows = [keys.view(row) for row in await keys.list_all(session)]
        chains = await areas.all_chains(session)
    return {
        "providers": rows,
        "kinds": list(KINDS.values()),
        "chains": chains,
        "area_titles": AREA_TITLES,
        "timeouts": areas.AREA_TIMEOUT_S,
        "editor_rows": max(EDITOR_ROWS, *(len(c) + 1 for c in chains.values())),
        "manages": member.manages,
        "probe": None,
        "form": {},
    }


async def _show_error(
    request: Request,
    state: AppState,
    member: Member,
    exc: Exception,
    form: dict[str, str] | None = None,
) -> Response:
    status, message = error_message(exc)
    context = await _context(state, member)
    context["form"] = form or {}
    return render(request, "ai_providers.html", context, status=status, error=message)


@router.get("")
async def providers_page(request: Request, state: StateDep, member: MemberDep) -> Response:
    return render(request, "ai_providers.html", await _context(state, member))


@router.post("")
async def add_provider(
    request: Request,
    state: StateDep,
    member: WriterDep,
    kind: Annotated[str, Form(max_length=32)] = "",
    label: Annotated[str, Form(max_length=200)] = "",
    api_key: Annotated[str, Form(max_length=1000)] = "",
    base_url: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    try:
        async with state.db.tenant_session(member.principal.org_id) as session:
            row = await keys.add(
                session,
                member.principal,
                state.settings.master_key_bytes(),
                kind=kind,
                label=label,
                api_key=api_key or None,
                base_url=base_url or None,
            )
            view = keys.view(row)
    except FORM_ERRORS as exc:
        # The key is never put back into the form.
        return await _show_error(
            request, state, member, exc, {"kind": kind, "label": label, "base_url": base_url}
        )
    flash = Flash(f"Added {view.label} ({view.kind_title}). Choose it for an area below.")
    return redirect(request, f"/ai/providers#provider-{view.id}", member.signed_in, flash)


@router.post("/{provider_id}/key")
async def replace_key(
    request: Request,
    state: StateDep,
    member: WriterDep,
    provider_id: uuid.UUID,
    api_key: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    try:
        async with state.db.tenant_session(member.principal.org_id) as session:
            row = await keys.update(
                session,
                member.principal,
                state.settings.master_key_bytes(),
                provider_id,
                api_key=api_key,
            )
            view = keys.view(row)
    except FORM_ERRORS as exc:
        return await _show_error(request, state, member, exc)
    flash = Flash(f"Replaced the key of {view.label}.")
    return redirect(request, f"/ai/providers#provider-{view.id}", member.signed_in, flash)


@router.post("/{provider_id}/delete")
async def delete_provider(
    request: Request, state: StateDep, member: WriterDep, provider_id: uuid.UUID
) -> Response:
    try:
        async with state.db.tenant_session(member.principal.org_id) as session:
            label = (await keys.get(session, provider_id)).label
            await keys.delete(session, member.principal, provider_id)
    except FORM_ERRORS as exc:
        return await _show_error(request, state, member, exc)
    return redirect(request, "/ai/providers", member.signed_in, Flash(f"Removed {label}."))


@router.post("/{provider_id}/test")
async def test_provider(
    request: Request,
    state: StateDep,
    member: WriterDep,
    provider_id: uuid.UUID,
    model: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    try:
        if not model.strip():
            raise InvalidInput("model", "name the model to test")
        async with state.db.tenant_session(member.principal.org_id) as session:
            row = await keys.get(session, provider_id)
            keys.require_admin(member.principal)
            spec = keys.spec(
                row, state.settings.master_key_bytes(), model=model.strip(), timeout_s=30
            )
            label = row.label
    except FORM_ERRORS as exc:
        return await _show_error(request, state, member, exc)
    result: ProbeResult = await probe(spec)
    context = await _context(state, member)
    context["probe"] = {"id": provider_id, "label": label, "model": spec.model, "result": result}
    return render(request, "ai_providers.html", context)


@router.post("/areas/{area}")
async def set_area(request: Request, state: StateDep, member: WriterDep, area: str) -> Response:
    form = await request.form()
    provider_ids = form.getlist("provider_id")
    models = form.getlist("model")
    steps: list[tuple[uuid.UUID, str]] = []
    try:
        for i, (given_id, given_model) in enumerate(zip(provider_ids, models, strict=False)):
            raw_id, model = str(given_id).strip(), str(given_model).strip()
            if not raw_id and not model:
                continue
            if not raw_id:
                raise InvalidInput(f"chain[{i}].provider", "choose a provider for this model")
            if not model:
                raise InvalidInput(f"chain[{i}].model", "name the model to use")
            try:
                steps.append((uuid.UUID(raw_id), model))
            except ValueError:
                raise InvalidInput(
                    f"chain[{i}].provider", "is not a provider of this organisation"
                ) from None
        async with state.db.tenant_session(member.principal.org_id) as session:
            await areas.set_chain(session, member.principal, area, steps)
    except FORM_ERRORS as exc:
        return await _show_error(request, state, member, exc)
    title = AREA_TITLES.get(area, area)
    text = (
        f"{title}: {len(steps)} provider{'s' if len(steps) != 1 else ''} in order."
        if steps
        else f"{title}: no provider; the offline runbook engine does the work."
    )
    return redirect(request, f"/ai/providers#area-{area}", member.signed_in, Flash(text))
