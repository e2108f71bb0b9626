"""The integrations page: each monitoring tool's webhook URL, adding and changing integrations,
sending a test alert, and each source's setup page."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

import vixpro
from vixpro.accounts.errors import InvalidInput, NotFound
from vixpro.db.models import Incident
from vixpro.incidents import integrations, service
from vixpro.incidents.ingest import Submission
from vixpro.ingest.registry import ADAPTERS, sources
from vixpro.web.dashboard.pages import FORM_ERRORS, Flash, error_message, redirect, render
from vixpro.web.dashboard.session import Member, MemberDep, WriterDep
from vixpro.web.deps import StateDep
from vixpro.web.state import AppState
from vixpro.web.urls import public_base

router = APIRouter(prefix="/integrations")
# Where the setup pages live in a source checkout (src/vixpro → the repository's docs/).
DOCS_DIR = Path(vixpro.__file__).resolve().parent.parent.parent / "docs" / "integrations"
GENERIC = "generic"
MAX_OPTIONS = 20_000


def webhook_url(base: str, token: str) -> str:
    return f"{base}/api/v1/webhooks/{token}"


def docs_path(source: str) -> str:
    return f"docs/integrations/{source}.md"


def _empty_form() -> dict[str, str]:
    choices = sources()
    return {
        "source": choices[0][0] if choices else "",
        "name": "",
        "options": "",
    }


async def _context(
    state: AppState, member: Member, request: Request, form: dict[str, str] | None = None
) -> dict[str, Any]:
    async with state.db.tenant_session(member.principal.org_id) as session:
        views = await integrations.list_all(session, state.settings.master_key_bytes())
    base = public_base(state, request)
    return {
        "rows": [{"view": v, "url": webhook_url(base, v.token)} for v in views],
        "sources": sources(),
        "generic": GENERIC,
        "manages": member.manages,
        "may_test": not member.role.read_only,
        "form": form or _empty_form(),
        "tested": None,
    }


async def _show_error(
    request: Request,
    state: AppState,
    member: Member,
    exc: Exception,
    form: dict[str, str] | None = None,
) -> Response:
    status, message = error_message(exc)
    context = await _context(state, member, request, form)
    return render(request, "integrations.html", context, status=status, error=message)


@router.get("")
async def integrations_page(request: Request, state: StateDep, member: MemberDep) -> Response:
    return render(request, "integrations.html", await _context(state, member, request))


def _options(source: str, text: str) -> dict[str, Any]:
    """The options JSON of the generic source; other sources take none from this form."""
    if source != GENERIC or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidInput("options", f"is not valid JSON ({exc.args[0]})") from None
    if not isinstance(value, dict):
        raise InvalidInput("options", "must be a JSON object")
    return value


@router.post("")
async def add_integration(
    request: Request,
    state: StateDep,
    member: WriterDep,
    source: Annotated[str, Form(max_length=64)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    signing_secret: Annotated[str, Form(max_length=256)] = "",
    options: Annotated[str, Form(max_length=MAX_OPTIONS)] = "",
) -> Response:
    form = {"source": source, "name": name, "options": options}
    try:
        async with state.db.tenant_session(member.principal.org_id) as session:
            view = await integrations.create(
                session,
                member.principal,
                state.settings.master_key_bytes(),
                source=source,
                name=name,
                signing_secret=signing_secret.strip() or None,
                options=_options(source, options),
            )
    except FORM_ERRORS as exc:
        return await _show_error(request, state, member, exc, form)
    flash = Flash(
        f"Added {view.name}. Copy its webhook URL into {view.source_title}; "
        "anyone who has the URL can send alerts."
    )
    return redirect(request, f"/integrations#integration-{view.id}", member.signed_in, flash)


@router.post("/{integration_id}/test")
async def send_test_alert(
    request: Request, state: StateDep, member: WriterDep, integration_id: uuid.UUID
) -> Response:
    principal = member.principal
    try:
        async with state.db.tenant_session(principal.org_id) as session:
            row = await integrations.get(session, integration_id)
            name, source, options = row.name, row.source, row.options
        integrations.require_writer(principal)
        alerts = integrations.sample_alerts(source, options)
        outcome = await state.ingest.submit(Submission(principal.org_id, integration_id, alerts))
        found: list[Incident] = []
        async with state.db.tenant_session(principal.org_id) as session:
            for incident_id in outcome.incident_ids:
                try:
                    found.append(await service.get_incident(session, incident_id))
                except NotFound:
                    continue
    except FORM_ERRORS as exc:
        return await _show_error(request, state, member, exc)
    context = await _context(state, member, request)
    context["tested"] = {
        "name": name,
        "accepted": len(outcome.alert_ids),
        "suppressed": outcome.suppressed,
        "incidents": found,
    }
    return render(request, "integrations.html", context)


@router.post("/{integration_id}/rotate")
async def rotate(
    request: Request, state: StateDep, member: WriterDep, integration_id: uuid.UUID
) -> Response:
    try:
        async with state.db.tenant_session(member.principal.org_id) as session:
            view = await integrations.rotate(
                session, member.principal, state.settings.master_key_bytes(), integration_id
            )
    except FORM_ERRORS as exc:
        return await _show_error(request, state, member, exc)
    flash = Flash(f"{view.name} has a new webhook URL; the old one no longer works.")
    return redirect(request, f"/integrations#integration-{view.id}", member.signed_in, flash)


@router.post("/{integration_id}/enabled")
async def set_enabled(
    request: Request,
    state: StateDep,
    member: WriterDep,
    integration_id: uuid.UUID,
    enabled: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    try:
        if enabled not in ("true", "false"):
            raise InvalidInput("enabled", "must be true or false")
        async with state.db.tenant_session(member.principal.org_id) as session:
            view = await integrations.update(
                session,
                member.principal,
                state.settings.master_key_bytes(),
                integration_id,
                enabled=enabled == "true",
            )
    except FORM_ERRORS as exc:
        return await _show_error(request, state, member, exc)
    if view.enabled:
        text = f"{view.name} is enabled: its webhook accepts alerts."
    else:
        text = f"{view.name} is disabled: its webhook refuses alerts until it is enabled."
    return redirect(request, f"/integrations#integration-{view.id}", member.signed_in, Flash(text))


@router.post("/{integration_id}/secret")
async def set_secret(
    request: Request,
    state: StateDep,
    member: WriterDep,
    integration_id: uuid.UUID,
    signing_secret: Annotated[str, Form(max_length=256)] = "",
    clear: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    try:
        secret = signing_secret.strip()
        if not clear and not secret:
            raise InvalidInput("signing_secret", "enter the secret, or clear it")
        async with state.db.tenant_session(member.principal.org_id) as session:
            view = await integrations.update(
                session,
                member.principal,
                state.settings.master_key_bytes(),
                integration_id,
                signing_secret=None if clear else secret,
                clear_signing_secret=bool(clear),
            )
    except FORM_ERRORS as exc:
        return await _show_error(request, state, member, exc)
    if clear:
        text = f"{view.name} no longer checks a signing secret."
    else:
        text = f"{view.name} now checks its signing secret on every request."
    return redirect(request, f"/integrations#integration-{view.id}", member.signed_in, Flash(text))


@router.post("/{integration_id}/remove")
async def remove(
    request: Request, state: StateDep, member: WriterDep, integration_id: uuid.UUID
) -> Response:
    try:
        async with state.db.tenant_session(member.principal.org_id) as session:
            row = await integrations.get(session, integration_id)
            name = row.name
            await integrations.delete(session, member.principal, integration_id)
    except FORM_ERRORS as exc:
        return await _show_error(request, state, member, exc)
    flash = Flash(f"Removed {name}; its webhook URL no longer works. Its incidents are kept.")
    return redirect(request, "/integrations", member.signed_in, flash)


@router.get("/docs/{source}")
async def setup_docs(request: Request, state: StateDep, member: MemberDep, source: str) -> Response:
    adapter = ADAPTERS.get(source)
    if adapter is None:
        raise NotFound("source")
    # The name comes from the registry, never from the path, so it cannot leave the directory.
    path = DOCS_DIR / f"{adapter.source}.md"
    text = path.read_text(encoding="utf-8") if path.is_file() else None
    return render(
        request,
        "integration_docs.html",
        {"source": adapter.source, "title": adapter.title, "text": text, "path": docs_path(source)},
    )
