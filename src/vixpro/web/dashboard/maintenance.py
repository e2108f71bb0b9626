"""The maintenance windows page: current and upcoming windows (past ones on request),
scheduling one, and cancelling one. Alerts inside a window are kept, marked suppressed, and
start nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from vixpro.accounts.errors import InvalidInput
from vixpro.incidents import maintenance
from vixpro.tools import servers
from vixpro.web.dashboard.incidents import parse_time
from vixpro.web.dashboard.pages import FORM_ERRORS, Flash, error_message, redirect, render
from vixpro.web.dashboard.session import Member, MemberDep, WriterDep
from vixpro.web.deps import StateDep
from vixpro.web.state import AppState

router = APIRouter(prefix="/maintenance")
SCOPES = (("all", "All servers"), ("servers", "Chosen servers"), ("labels", "Alerts with labels"))
MAX_LABELS = 20


def _empty_form() -> dict[str, Any]:
    return {
        "reason": "",
        "starts_at": "",
        "ends_at": "",
        "scope": "all",
        "server_ids": [],
        "labels": "",
    }


async def _context(
    state: AppState, member: Member, past: bool, form: dict[str, Any] | None = None
) -> dict[str, Any]:
    async with state.db.tenant_session(member.principal.org_id) as session:
        windows = await maintenance.list_windows(session, include_past=past)
        all_servers = await servers.list_servers(session, limit=500)
    now = datetime.now(UTC)
    return {
        "windows": windows,
        "servers": all_servers,
        "names": {s.id: s.name for s in all_servers},
        "now": now,
        "past": past,
        "scopes": SCOPES,
        "form": form or _empty_form(),
        "may_write": not member.role.read_only,
    }


@router.get("")
async def maintenance_page(
    request: Request,
    state: StateDep,
    member: MemberDep,
    past: Annotated[bool, Query()] = False,
) -> Response:
    return render(request, "maintenance.html", await _context(state, member, past))


def parse_labels(text: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise InvalidInput("labels", f"line {number} is not key=value")
        labels[key.strip()] = value.strip()
    if len(labels) > MAX_LABELS:
        raise InvalidInput("labels", f"at most {MAX_LABELS} labels")
    return labels


def _server_ids(values: list[str]) -> list[uuid.UUID]:
    try:
        return [uuid.UUID(v) for v in values]
    except ValueError:
        raise InvalidInput("server_ids", "is not a server id") from None


def _required_time(field: str, text: str) -> datetime:
    value = parse_time(field, text)
    if value is None:
        raise InvalidInput(field, "give a date and time (UTC)")
    return value


@router.post("")
async def create_window(request: Request, state: StateDep, member: WriterDep) -> Response:
    submitted = await request.form()
    form: dict[str, Any] = {
        "reason": str(submitted.get("reason", ""))[:2000],
        "starts_at": str(submitted.get("starts_at", ""))[:40],
        "ends_at": str(submitted.get("ends_at", ""))[:40],
        "scope": str(submitted.get("scope", ""))[:16],
        "server_ids": [str(v)[:64] for v in submitted.getlist("server_ids")][:500],
        "labels": str(submitted.get("labels", ""))[:6000],
    }
    try:
        async with state.db.tenant_session(member.principal.org_id) as session:
            row = await maintenance.create(
                session,
                member.principal,
                reason=form["reason"],
                starts_at=_required_time("starts_at", form["starts_at"]),
                ends_at=_required_time("ends_at", form["ends_at"]),
                scope=form["scope"],
                server_ids=_server_ids(form["server_ids"]) if form["scope"] == "servers" else [],
                labels=parse_labels(form["labels"]) if form["scope"] == "labels" else {},
            )
            text = f"Scheduled: {maintenance.describe(row)}"
    except FORM_ERRORS as exc:
        status, message = error_message(exc)
        context = await _context(state, member, False, form)
        return render(request, "maintenance.html", context, status=status, error=message)
    return redirect(request, "/maintenance", member.signed_in, Flash(text))


@router.post("/{window_id}/cancel")
async def cancel_window(
    request: Request, state: StateDep, member: WriterDep, window_id: uuid.UUID
) -> Response:
    try:
        async with state.db.tenant_session(member.principal.org_id) as session:
            await maintenance.delete(session, member.principal, window_id)
    except FORM_ERRORS as exc:
        status, message = error_message(exc)
        context = await _context(state, member, False)
        return render(request, "maintenance.html", context, status=status, error=message)
    return redirect(request, "/maintenance", member.signed_in, Flash("Cancelled the window."))
