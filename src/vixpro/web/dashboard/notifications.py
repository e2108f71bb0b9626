"""The notifications page: channels (one add form per kind), their rules, a test per channel and
the delivery log; and the staff console's email outbox."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from vixpro.accounts.errors import InvalidInput
from vixpro.db.models.notify import OutboxEmail
from vixpro.notify import channels, deliver, log
from vixpro.notify import email as email_channel
from vixpro.notify.events import DEFAULT_KINDS, LABELS
from vixpro.notify.registry import CHANNELS
from vixpro.web.dashboard.pages import FORM_ERRORS, Flash, error_message, redirect, render
from vixpro.web.dashboard.session import Member, MemberDep, StaffDep, WriterDep
from vixpro.web.deps import StateDep
from vixpro.web.state import AppState

router = APIRouter()
LOG_SHOWN = 50
OUTBOX_SHOWN = 100


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    where: str  # "config" or "secret"
    kind: str = "text"  # input type; "list" is comma- or line-separated
    required: bool = True
    placeholder: str = ""


# What each kind's add form asks for; the channel's own models check the values.
FORMS: dict[str, tuple[Field, ...]] = {
    "bell": (),
    "email": (
        Field(
            "to", "Addresses", "config", "list", placeholder="oncall@example.com, ops@example.com"
        ),
    ),
    "slack": (
        Field(
            "webhook_url",
            "Incoming webhook URL",
            "secret",
            "password",
            placeholder="https://hooks.slack.com/services/…",
        ),
    ),
    "pagerduty": (
        Field("routing_key", "Integration (routing) key", "secret", "password"),
        Field(
            "events_url",
            "Events API URL (optional)",
            "config",
            "url",
            required=False,
            placeholder="https://events.pagerduty.com/v2/enqueue",
        ),
    ),
    "twilio": (
        Field("account_sid", "Account SID", "config", placeholder="AC…"),
        Field("auth_token", "Auth token", "secret", "password"),
        Field("from_number", "From number", "config", placeholder="+14155550100"),
        Field(
            "to_numbers", "To numbers", "config", "list", placeholder="+14155550101, +14155550102"
        ),
        Field(
            "api_url",
            "API base URL (optional)",
            "config",
            "url",
            required=False,
            placeholder="https://api.twilio.com",
        ),
    ),
    "teams": (Field("webhook_url", "Workflow webhook URL", "secret", "password"),),
    "discord": (
        Field(
            "webhook_url",
            "Webhook URL",
            "secret",
            "password",
            placeholder="https://discord.com/api/webhooks/…",
        ),
    ),
    "webhook": (
        Field("url", "URL", "secret", "url", placeholder="https://example.com/vixpro"),
        Field("signing_secret", "Signing secret (16+ characters)", "secret", "password"),
    ),
}


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.replace("\n", ",").split(",") if part.strip()]


async def _context(state: AppState, member: Member) -> dict[str, Any]:
    async with state.db.tenant_session(member.principal.org_id) as session:
        rows = [channels.view(r) for r in await channels.list_all(session)]
        deliveries = list(await log.deliveries(session, limit=LOG_SHOWN))
        attempts = await log.attempts(session, [d.id for d in deliveries])
    names = {r.id: r.name for r in rows}
    return {
        "channels": rows,
        "deliveries": [
            {
                "row": d,
                "attempts": attempts[d.id],
                "channel": names.get(d.channel_id) if d.channel_id else None,
            }
            for d in deliveries
        ],
        "kinds": [(k, CHANNELS[k].title, FORMS[k]) for k in FORMS],
        "labels": {k.value: label for k, label in LABELS.items()},
        "defaults": {k.value for k in DEFAULT_KINDS},
        "manages": member.manages,
        "may_test": not member.role.read_only,
        "email_configured": email_channel.configured(state.settings),
        "tested": None,
    }


async def _show_error(
    request: Request, state: AppState, member: Member, exc: Exception
) -> Response:
    status, message = error_message(exc)
    return render(
        request, "notifications.html", await _context(state, member), status=status, error=message
    )


@router.get("/notifications")
async def notifications_page(request: Request, state: StateDep, member: MemberDep) -> Response:
    return render(request, "notifications.html", await _context(state, member))


@router.post("/notifications/channels")
async def add_channel(request: Request, state: StateDep, member: WriterDep) -> Response:
    form = await request.form()
    kind = str(form.get("kind", ""))
    try:
        if kind not in FORMS:
            raise InvalidInput("kind", f"unknown channel kind {kind!r}")
        config: dict[str, Any] = {}
        secret: dict[str, Any] = {}
        for field in FORMS[kind]:
            raw = str(form.get(f"{kind}.{field.name}", "")).strip()
            if not raw and not field.required:
                continue
            value: Any = _split(raw) if field.kind == "list" else raw
            (config if field.where == "config" else secret)[field.name] = value
        events = [str(e) for e in form.getlist("events")]
        async with state.db.tenant_session(member.principal.org_id) as session:
            row = await channels.create(
                session,
                member.principal,
                state.settings.master_key_bytes(),
                kind=kind,
                name=str(form.get("name", "")),
                config=config,
                secret=secret,
                events=events,
                critical_only=form.get("critical_only") == "1",
            )
            name, channel_id = row.name, row.id
    except FORM_ERRORS as exc:
        return await _show_error(request, state, member, exc)
    flash = Flash(f"Added {name}. Send it a test to check that it works.")
    return redirect(request, f"/notifications#channel-{channel_id}", member.signed_in, flash)


@router.post("/notifications/channels/{channel_id}/rules")
async def set_rules(
    request: Request, state: StateDep, member: WriterDep, channel_id: uuid.UUID
) -> Response:
    form = await request.form()
    try:
        async with state.db.tenant_session(member.principal.org_id) as session:
            row = await channels.update(
                session,
                member.principal,
                state.settings.master_key_bytes(),
                channel_id,
                events=[str(e) for e in form.getlist("events")],
                critical_only=form.get("critical_only") == "1",
            )
            name, count = row.name, len(row.events)
    except FORM_ERRORS as exc:
        return await _show_error(request, state, member, exc)
    flash = Flash(f"{name} now receives {count} kind{'s' if count != 1 else ''} of event.")
    return redirect(request, f"/notifications#channel-{channel_id}", member.signed_in, flash)


@router.post("/notifications/channels/{channel_id}/enabled")
async def set_enabled(
    request: Request, state: StateDep, member: WriterDep, channel_id: uuid.UUID
) -> Response:
    form = await request.form()
    try:
        value = str(form.get("enabled", ""))
        if value not in ("true", "false"):
            raise InvalidInput("enabled", "must be true or false")
        async with state.db.tenant_session(member.principal.org_id) as session:
            row = await channels.update(
                session,
                member.principal,
                state.settings.master_key_bytes(),
                channel_id,
                enabled=value == "true",
            )
            text = f"{row.name} is {'enabled' if row.enabled else 'disabled'}."
    except FORM_ERRORS as exc:
        return await _show_error(request, state, member, exc)
    return redirect(request, f"/notifications#channel-{channel_id}", member.signed_in, Flash(text))


@router.post("/notifications/channels/{channel_id}/remove")
async def remove_channel(
    request: Request, state: StateDep, member: WriterDep, channel_id: uuid.UUID
) -> Response:
    try:
        async with state.db.tenant_session(member.principal.org_id) as session:
            name = (await channels.get(session, channel_id)).name
            await channels.delete(session, member.principal, channel_id)
    except FORM_ERRORS as exc:
        return await _show_error(request, state, member, exc)
    return redirect(request, "/notifications", member.signed_in, Flash(f"Removed {name}."))


@router.post("/notifications/channels/{channel_id}/test")
async def test_channel(
    request: Request, state: StateDep, member: WriterDep, channel_id: uuid.UUID
) -> Response:
    principal = member.principal
    try:
        async with state.db.tenant_session(principal.org_id) as session:
            name = (await channels.get(session, channel_id)).name
        channels.require_writer(principal)
        async with deliver.client(state.settings) as http:
            _, outcome = await deliver.send_test(
                state.db, state.settings, http, principal.org_id, channel_id
            )
    except FORM_ERRORS as exc:
        return await _show_error(request, state, member, exc)
    context = await _context(state, member)
    context["tested"] = {"name": name, "outcome": outcome}
    return render(request, "notifications.html", context)


@router.get("/staff/email-outbox")
async def email_outbox(request: Request, state: StateDep, staff_user: StaffDep) -> Response:
    """Emails kept because no SMTP server is configured, newest first (every organisation)."""
    async with state.db.system_session("staff console: email outbox") as session:
        query = select(OutboxEmail).order_by(OutboxEmail.id.desc()).limit(OUTBOX_SHOWN)
        rows = (await session.scalars(query)).all()
    return render(
        request,
        "staff/email_outbox.html",
        {"emails": rows, "email_configured": email_channel.configured(state.settings)},
    )
