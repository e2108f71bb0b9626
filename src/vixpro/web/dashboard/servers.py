"""The servers pages: the list (with adding a server), and one server (facts, status, its signed
config, its events and executions, and running a tool on it)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession
from vixpro_agent.protocol import messages as m

from vixpro.accounts.errors import InvalidInput, NotFound
from vixpro.db.models import Server
from vixpro.incidents import maintenance
from vixpro.tools import catalogue, executions, servers
from vixpro.tools.executions import Requester
from vixpro.web.dashboard import schema_form
from vixpro.web.dashboard.pages import FORM_ERRORS, Flash, error_message, redirect, render
from vixpro.web.dashboard.session import Member, MemberDep, WriterDep
from vixpro.web.deps import StateDep
from vixpro.web.state import AppState
from vixpro.web.urls import install_command, public_base

router = APIRouter(prefix="/servers")
ROOTS_FIELD_MAX = 20
# An htmx event: the pending-approvals badge in the navigation refreshes itself on it.
APPROVALS_CHANGED = "approvals-changed"


async def server_names(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Names for the servers behind some rows (few distinct ids per page)."""
    names = {}
    for server_id in set(ids):
        try:
            names[server_id] = (await servers.get_server(session, server_id)).name
        except NotFound:
            names[server_id] = "removed server"
    return names


async def _list_context(state: AppState, member: Member) -> dict[str, Any]:
    async with state.db.tenant_session(member.principal.org_id) as session:
        rows = await servers.list_servers(session, limit=500)
        events = await servers.list_events(session, limit=20)
    names = {s.id: s.name for s in rows}
    return {
        "servers": rows,
        "events": [(e, names.get(e.server_id, "removed server")) for e in events],
        "manages": member.manages,
        "issued": None,
    }


@router.get("")
async def servers_page(request: Request, state: StateDep, member: MemberDep) -> Response:
    return render(request, "servers.html", await _list_context(state, member))


@router.post("/enrollment-token")
async def add_server(request: Request, state: StateDep, member: WriterDep) -> Response:
    principal = member.principal
    try:
        async with state.db.tenant_session(principal.org_id) as session:
            issued = await servers.create_enrollment_token(
                session, principal.actor, principal.org_id, principal.role
            )
    except FORM_ERRORS as exc:
        status, message = error_message(exc)
        context = await _list_context(state, member)
        return render(request, "servers.html", context, status=status, error=message)
    base = public_base(state, request)
    context = await _list_context(state, member)
    # Shown in this response only (no-store): the token is never carried in a cookie.
    context["issued"] = {
        "token": issued.token,
        "expires_at": issued.expires_at,
        "command": install_command(base, issued.token),
        "base": base,
    }
    return render(request, "servers.html", context, status=201)


def _roots(server: Server, key: str, default: list[str]) -> list[str]:
    return list(server.config.get(key, default))


async def _server_context(
    state: AppState,
    member: Member,
    server_id: uuid.UUID,
    *,
    tool: str | None = None,
    submitted: dict[str, str] | None = None,
) -> dict[str, Any]:
    assert state.manifest is not None
    async with state.db.tenant_session(member.principal.org_id) as session:
        server = await servers.get_server(session, server_id)
        events = await servers.list_events(session, server_id=server_id, limit=50)
        recent = await executions.list_executions(session, server_id=server_id, limit=10)
        views = await catalogue.tool_views(session, state.manifest)
        windows = await maintenance.for_server(session, server_id)
        window_servers = await server_names(session, [s for w in windows for s in w.server_ids])
    runnable = [v for v in views if v.enabled]
    chosen = next((v for v in runnable if v.name == tool), runnable[0] if runnable else None)
    fields = []
    if chosen is not None:
        given = submitted if chosen.name == tool else None
        fields = schema_form.form_fields(chosen.spec["parameters"], given)
    log_roots = _roots(server, "allowed_log_roots", servers.DEFAULT_LOG_ROOTS)
    cleanup_roots = _roots(server, "allowed_cleanup_roots", servers.DEFAULT_CLEANUP_ROOTS)
    return {
        "server": server,
        "connected": server.replica is not None,
        "facts": server.facts or {},
        "log_roots": log_roots,
        "cleanup_roots": cleanup_roots,
        "events": events,
        "windows": windows,
        "now": datetime.now(UTC),
        "names": window_servers,
        "recent": recent,
        "tools": runnable,
        "chosen": chosen,
        "fields": fields,
        "manages": member.manages,
        "may_run": not member.role.read_only,
        "settings_form": {
            "name": server.name,
            "log_roots": "\n".join(log_roots),
            "cleanup_roots": "\n".join(cleanup_roots),
        },
        "result": None,
        "result_approval": None,
    }


@router.get("/{server_id}")
async def server_page(
    request: Request,
    state: StateDep,
    member: MemberDep,
    server_id: uuid.UUID,
    tool: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    context = await _server_context(state, member, server_id, tool=tool)
    return render(request, "server.html", context)


async def _server_error(
    request: Request,
    state: AppState,
    member: Member,
    server_id: uuid.UUID,
    exc: Exception,
    **overrides: Any,
) -> Response:
    status, message = error_message(exc)
    context = await _server_context(
        state,
        member,
        server_id,
        tool=overrides.pop("tool", None),
        submitted=overrides.pop("submitted", None),
    )
    context.update(overrides)
    return render(request, "server.html", context, status=status, error=message)


def _lines(field: str, text: str) -> list[str]:
    roots = [line.strip() for line in text.splitlines() if line.strip()]
    if len(roots) > ROOTS_FIELD_MAX:
        raise InvalidInput(field, f"at most {ROOTS_FIELD_MAX} paths")
    return roots


async def _update(state: AppState, member: Member, server_id: uuid.UUID, **changes: Any) -> Server:
    """Change the server, then push its freshly signed config to its host agent (as the API does)."""
    async with state.db.tenant_session(member.principal.org_id) as session:
        server = await servers.update_config(session, member.principal, server_id, **changes)
        document = state.signer.sign(servers.config_body(server)) if state.signer else None
    if document is not None:
        await state.hub.send_to(server_id, m.message(m.CONFIG, document=document))
    return server


@router.post("/{server_id}/settings")
async def change_settings(
    request: Request,
    state: StateDep,
    member: WriterDep,
    server_id: uuid.UUID,
    name: Annotated[str, Form(max_length=255)] = "",
    allowed_log_roots: Annotated[str, Form(max_length=6000)] = "",
    allowed_cleanup_roots: Annotated[str, Form(max_length=6000)] = "",
) -> Response:
    form = {"name": name, "log_roots": allowed_log_roots, "cleanup_roots": allowed_cleanup_roots}
    try:
        if not name.strip():
            raise InvalidInput("name", "give the server a name")
        server = await _update(
            state,
            member,
            server_id,
            name=name.strip(),
            allowed_log_roots=_lines("allowed_log_roots", allowed_log_roots),
            allowed_cleanup_roots=_lines("allowed_cleanup_roots", allowed_cleanup_roots),
        )
    except FORM_ERRORS as exc:
        return await _server_error(request, state, member, server_id, exc, settings_form=form)
    flash = Flash(
        f"Saved {server.name}; its host agent has config version {server.config_version}."
    )
    return redirect(request, f"/servers/{server_id}", member.signed_in, flash)


@router.post("/{server_id}/reissue")
async def trust_again(
    request: Request, state: StateDep, member: WriterDep, server_id: uuid.UUID
) -> Response:
    try:
        server = await _update(state, member, server_id, reissue=True)
    except FORM_ERRORS as exc:
        return await _server_error(request, state, member, server_id, exc)
    flash = Flash(
        f"A fresh signed config (version {server.config_version}) was sent to {server.name}."
    )
    return redirect(request, f"/servers/{server_id}", member.signed_in, flash)


@router.post("/{server_id}/remove")
async def remove(
    request: Request, state: StateDep, member: WriterDep, server_id: uuid.UUID
) -> Response:
    try:
        async with state.db.tenant_session(member.principal.org_id) as session:
            server = await servers.remove_server(session, member.principal, server_id)
    except FORM_ERRORS as exc:
        return await _server_error(request, state, member, server_id, exc)
    await state.hub.disconnect(server_id)
    flash = Flash(f"{server.name} was removed and its host agent disconnected.")
    return redirect(request, "/servers", member.signed_in, flash)


@router.post("/{server_id}/run")
async def run_tool(
    request: Request, state: StateDep, member: WriterDep, server_id: uuid.UUID
) -> Response:
    assert state.manifest is not None
    form = await request.form()
    tool = str(form.get("tool", ""))[:64]
    submitted = schema_form.submitted_text(form)
    principal = member.principal
    try:
        if not tool:
            raise InvalidInput("tool", "choose a tool")
        async with state.db.tenant_session(principal.org_id) as session:
            view = await catalogue.tool_view(session, state.manifest, tool)
        params = schema_form.parse(view.spec["parameters"], submitted)
        row = await state.runner.request(
            principal.org_id,
            Requester(principal.actor),
            state.manifest,
            server_id,
            tool,
            params,
            wait=True,
        )
    except FORM_ERRORS as exc:
        return await _server_error(
            request, state, member, server_id, exc, tool=tool, submitted=submitted
        )
    context = await _server_context(state, member, server_id, tool=tool, submitted=submitted)
    async with state.db.tenant_session(principal.org_id) as session:
        context["result_approval"] = await executions.approval_for(session, row.id)
    context["result"] = row
    status = 200 if row.status in executions.FINAL else 202
    response = render(request, "server.html", context, status=status)
    if row.status == "awaiting_approval":
        response.headers["HX-Trigger"] = APPROVALS_CHANGED  # the navigation's count badge
    return response
