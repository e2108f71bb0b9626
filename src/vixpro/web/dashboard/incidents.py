"""The incidents pages: the live list with its filters and the organisation's events, one
incident (acting on it, assigning, commenting, its alerts and timeline), and the incident
settings.

Both pages stay current without a reload: vixpro.js listens to ``GET /api/v1/incidents/stream``
(Server-Sent Events, signed in by the same session cookie) and, on ``changed``, fetches the
page again and swaps in the parts marked ``data-live-refresh``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from vixpro.accounts import members
from vixpro.accounts.errors import InvalidInput
from vixpro.core.incidents import Action, InvalidTransition, State, transition
from vixpro.core.pagination import BadCursor, Cursor
from vixpro.core.roles import Role
from vixpro.db.models import Incident
from vixpro.incidents import integrations, service
from vixpro.incidents import settings as incident_settings
from vixpro.ingest.registry import ADAPTERS, sources
from vixpro.tools import servers
from vixpro.web.dashboard.pages import FORM_ERRORS, Flash, error_message, redirect, render
from vixpro.web.dashboard.servers import server_names
from vixpro.web.dashboard.session import Member, MemberDep, WriterDep
from vixpro.web.deps import StateDep
from vixpro.web.state import AppState

router = APIRouter(prefix="/incidents")
PAGE_SIZE = 50
STATES = ("active", "open", "acknowledged", "resolved")
SEVERITIES = ("critical", "normal")
STREAM = "/api/v1/incidents/stream"
ORG_EVENTS_SHOWN = 10
# Settings fields in form order, with what people read next to them.
SETTING_FIELDS = (
    ("group_window_s", "Group window (seconds)", "alerts from one server within this time group into one incident"),
    ("storm_threshold", "Storm threshold (alerts)", "more than this many alerts from one server ..."),
    ("storm_window_s", "Storm window (seconds)", "... within this time is a storm: one incident, no AI per alert"),
    ("storm_quiet_s", "Storm quiet time (seconds)", "a storm ends after this long without alerts"),
)  # fmt: skip


# ---- the list -------------------------------------------------------------------------------


def parse_time(field: str, text: str) -> datetime | None:
    """A ``datetime-local`` value (or an ISO date) read as UTC."""
    text = text.strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(field, "is not a date and time (YYYY-MM-DD HH:MM, UTC)") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _filters(form: dict[str, str]) -> service.Filters:
    if form["state"] and form["state"] not in STATES:
        raise InvalidInput("state", f"must be one of {', '.join(STATES)}")
    if form["severity"] and form["severity"] not in SEVERITIES:
        raise InvalidInput("severity", f"must be one of {', '.join(SEVERITIES)}")
    server_id = None
    if form["server"]:
        try:
            server_id = uuid.UUID(form["server"])
        except ValueError:
            raise InvalidInput("server", "is not a server id") from None
    since = parse_time("since", form["since"])
    until = parse_time("until", form["until"])
    if since and until and until <= since:
        raise InvalidInput("until", "must be after since")
    return service.Filters(
        state=form["state"] or None,
        severity=form["severity"] or None,
        server_id=server_id,
        source=form["source"] or None,
        since=since,
        until=until,
    )


@router.get("")
async def incidents_page(
    request: Request,
    state: StateDep,
    member: MemberDep,
    state_: Annotated[str, Query(alias="state", max_length=16)] = "",
    severity: Annotated[str, Query(max_length=16)] = "",
    server: Annotated[str, Query(max_length=64)] = "",
    source: Annotated[str, Query(max_length=32)] = "",
    since: Annotated[str, Query(max_length=40)] = "",
    until: Annotated[str, Query(max_length=40)] = "",
    before: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    form = {
        "state": state_,
        "severity": severity,
        "server": server,
        "source": source,
        "since": since,
        "until": until,
    }
    error, status = None, 200
    rows: list[Incident] = []
    filters: service.Filters | None
    cursor: Cursor | None
    try:
        filters = _filters(form)
        cursor = Cursor.decode(before) if before else None
    except BadCursor as exc:
        error, status, filters, cursor = f"before: {exc}", 422, None, None
    except InvalidInput as exc:
        error, status, filters, cursor = f"{exc.field}: {exc.message}", 422, None, None
    async with state.db.tenant_session(member.principal.org_id) as session:
        if filters is not None:
            rows = list(await service.list_incidents(session, filters, cursor, PAGE_SIZE))
        all_servers = await servers.list_servers(session, limit=500)
        names = {s.id: s.name for s in all_servers}
        names.update(
            await server_names(session, {r.server_id for r in rows if r.server_id} - set(names))
        )
        events = await service.org_events(session, limit=ORG_EVENTS_SHOWN)
        counts = await service.counts(session)
    chosen = {k: v for k, v in form.items() if v}
    older = None
    if len(rows) == PAGE_SIZE:
        next_cursor = Cursor(rows[-1].created_at, rows[-1].id).encode()
        older = urlencode({**chosen, "before": next_cursor})
    here = "/incidents" + (f"?{request.url.query}" if request.url.query else "")
    context = {
        "rows": rows,
        "names": names,
        "servers": all_servers,
        "sources": sources(),
        "states": STATES,
        "severities": SEVERITIES,
        "filters": form,
        "filtered": bool(chosen),
        "older": older,
        "paged": before is not None,
        "newest": urlencode(chosen),
        "events": events,
        "counts": counts,
        "stream": STREAM,
        "here": here,
        "manages": member.manages,
    }
    return render(request, "incidents.html", context, status=status, error=error)


# ---- incident settings (before /{incident_id}: "settings" is not an id) ---------------------


async def _settings_context(state: AppState, member: Member) -> dict[str, Any]:
    async with state.db.tenant_session(member.principal.org_id) as session:
        view = await incident_settings.get(session, member.principal)
    form = {name: str(getattr(view, name)) for name, _, _ in SETTING_FIELDS}
    form["alert_budget"] = "" if view.alert_budget is None else str(view.alert_budget)
    form["auto_resolve"] = "true" if view.auto_resolve else ""
    return {
        "view": view,
        "fields": SETTING_FIELDS,
        "limits": incident_settings.LIMITS,
        "form": form,
        "manages": member.manages,
    }


@router.get("/settings")
async def settings_page(request: Request, state: StateDep, member: MemberDep) -> Response:
    return render(request, "incident_settings.html", await _settings_context(state, member))


def _whole_number(field: str, text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise InvalidInput(field, "must be a whole number") from None


@router.post("/settings")
async def save_settings(request: Request, state: StateDep, member: WriterDep) -> Response:
    submitted = await request.form()
    form = {
        name: str(submitted.get(name, ""))[:20]
        for name in (*(f for f, _, _ in SETTING_FIELDS), "alert_budget", "auto_resolve")
    }
    try:
        changes: dict[str, Any] = {
            name: _whole_number(name, form[name]) for name, _, _ in SETTING_FIELDS
        }
        budget = form["alert_budget"].strip()
        changes["alert_budget"] = _whole_number("alert_budget", budget) if budget else None
        changes["auto_resolve"] = form["auto_resolve"] == "true"
        async with state.db.tenant_session(member.principal.org_id) as session:
            await incident_settings.update(session, member.principal, changes)
    except FORM_ERRORS as exc:
        status, message = error_message(exc)
        context = await _settings_context(state, member)
        context["form"] = form
        return render(request, "incident_settings.html", context, status=status, error=message)
    return redirect(
        request, "/incidents/settings", member.signed_in, Flash("Saved the incident settings.")
    )


# ---- one incident ---------------------------------------------------------------------------


def allowed_actions(current: str) -> list[Action]:
    """The actions the state machine allows from ``current``, in the order people take them."""
    allowed = []
    for action in Action:
        try:
            transition(State(current), action)
        except InvalidTransition:
            continue
        allowed.append(action)
    return allowed


async def _incident_context(
    state: AppState, member: Member, incident_id: uuid.UUID
) -> dict[str, Any]:
    async with state.db.tenant_session(member.principal.org_id) as session:
        incident = await service.get_incident(session, incident_id)
        alerts = await service.incident_alerts(session, incident_id)
        events = await service.timeline(session, incident_id)
        diagnosis = await service.latest_diagnosis(session, incident_id)
        people = await members.list_members(session, limit=200)
        views = await integrations.list_all(session, state.settings.master_key_bytes())
        names = await server_names(session, [incident.server_id]) if incident.server_id else {}
    assignable = [
        (user.id, user.email) for membership, user in people if membership.role != Role.STAKEHOLDER
    ]
    emails = {user.id: user.email for _, user in people}
    source = ADAPTERS.get(incident.source)
    return {
        "incident": incident,
        "alerts": alerts,
        "events": events,
        "diagnosis": diagnosis,
        "server_name": names.get(incident.server_id) if incident.server_id else None,
        "assignee": emails.get(incident.assignee_id) if incident.assignee_id else None,
        "assignable": assignable,
        "integration_names": {v.id: v.name for v in views},
        "source_title": source.title if source else incident.source,
        "actions": allowed_actions(incident.state),
        "may_write": not member.role.read_only,
        "stream": STREAM,
        "comment": "",
    }


@router.get("/{incident_id}")
async def incident_page(
    request: Request, state: StateDep, member: MemberDep, incident_id: uuid.UUID
) -> Response:
    return render(request, "incident.html", await _incident_context(state, member, incident_id))


async def _incident_error(
    request: Request,
    state: AppState,
    member: Member,
    incident_id: uuid.UUID,
    exc: Exception,
    **overrides: Any,
) -> Response:
    status, message = error_message(exc)
    context = await _incident_context(state, member, incident_id)
    context.update(overrides)
    return render(request, "incident.html", context, status=status, error=message)


@router.post("/{incident_id}/action")
async def act(
    request: Request,
    state: StateDep,
    member: WriterDep,
    incident_id: uuid.UUID,
    action: Annotated[str, Form(max_length=16)] = "",
    note: Annotated[str, Form(max_length=service.MAX_COMMENT)] = "",
) -> Response:
    try:
        try:
            chosen = Action(action)
        except ValueError:
            raise InvalidInput("action", "choose acknowledge, resolve or reopen") from None
        async with state.db.tenant_session(member.principal.org_id) as session:
            incident = await service.act(
                session, member.principal, incident_id, chosen, note.strip() or None
            )
            number, new_state = incident.number, incident.state
    except FORM_ERRORS as exc:
        return await _incident_error(request, state, member, incident_id, exc)
    flash = Flash(f"Incident #{number} is {new_state}.")
    return redirect(request, f"/incidents/{incident_id}", member.signed_in, flash)


@router.post("/{incident_id}/assign")
async def assign(
    request: Request,
    state: StateDep,
    member: WriterDep,
    incident_id: uuid.UUID,
    assignee_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    try:
        user_id = None
        if assignee_id:
            try:
                user_id = uuid.UUID(assignee_id)
            except ValueError:
                raise InvalidInput("assignee_id", "is not a member") from None
        async with state.db.tenant_session(member.principal.org_id) as session:
            incident = await service.assign(session, member.principal, incident_id, user_id)
            number = incident.number
    except FORM_ERRORS as exc:
        return await _incident_error(request, state, member, incident_id, exc)
    text = f"Incident #{number} is assigned." if user_id else f"Incident #{number} is unassigned."
    return redirect(request, f"/incidents/{incident_id}", member.signed_in, Flash(text))


@router.post("/{incident_id}/comment")
async def comment(
    request: Request,
    state: StateDep,
    member: WriterDep,
    incident_id: uuid.UUID,
    body: Annotated[str, Form(max_length=service.MAX_COMMENT + 100)] = "",
) -> Response:
    try:
        async with state.db.tenant_session(member.principal.org_id) as session:
            await service.comment(session, member.principal, incident_id, body)
    except FORM_ERRORS as exc:
        return await _incident_error(request, state, member, incident_id, exc, comment=body)
    return redirect(
        request, f"/incidents/{incident_id}#timeline", member.signed_in, Flash("Comment added.")
    )
