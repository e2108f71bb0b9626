"""Notification channels: add, change, remove, list; their secrets sealed at rest.

A channel's secret fields (webhook URLs, keys, tokens) are sealed under the master key with the
channel's id as context, never returned, and shown only as their last four characters.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from vixpro.accounts import audit
from vixpro.accounts.errors import Forbidden, InvalidInput, NotFound
from vixpro.accounts.principal import Principal
from vixpro.core.roles import Role
from vixpro.db.models.notify import NotificationChannel
from vixpro.db.sealed_columns import NOTIFICATION_CHANNEL_SECRET
from vixpro.notify.base import Channel
from vixpro.notify.events import DEFAULT_KINDS, RULE_KINDS, EventKind
from vixpro.notify.registry import CHANNELS
from vixpro.sealed import hint

MAX_CHANNELS = 50


@dataclass(frozen=True, slots=True)
class ChannelView:
    id: uuid.UUID
    kind: str
    kind_title: str
    name: str
    config: dict[str, Any]
    secret_hint: str
    events: list[str]
    critical_only: bool
    enabled: bool
    status: str
    failure: str | None
    failing_since: datetime | None
    last_sent_at: datetime | None
    created_at: datetime


def view(row: NotificationChannel) -> ChannelView:
    channel = CHANNELS.get(row.kind)
    return ChannelView(
        id=row.id,
        kind=row.kind,
        kind_title=channel.title if channel else row.kind,
        name=row.name,
        config=dict(row.config or {}),
        secret_hint=row.secret_hint,
        events=list(row.events or []),
        critical_only=row.critical_only,
        enabled=row.enabled,
        status=row.status,
        failure=row.failure,
        failing_since=row.failing_since,
        last_sent_at=row.last_sent_at,
        created_at=row.created_at,
    )


def _require_admin(principal: Principal) -> None:
    if not principal.role.at_least(Role.ADMIN):
        raise Forbidden("only owners and admins manage notification channels")


def require_writer(principal: Principal) -> None:
    if not principal.role.at_least(Role.MEMBER):
        raise Forbidden("stakeholders cannot send test notifications")


def _kind(kind: str) -> Channel:
    channel = CHANNELS.get(kind)
    if channel is None:
        raise InvalidInput("kind", f"unknown channel kind {kind!r}; one of: {', '.join(CHANNELS)}")
    return channel


def _parse(model: type[BaseModel], values: dict[str, Any], where: str) -> BaseModel:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        # Name the field; never repeat the input (it may be a secret).
        error = exc.errors(include_input=False, include_url=False)[0]
        field = ".".join(str(p) for p in error["loc"]) or where
        message = str(error["msg"]).removeprefix("Value error, ")
        raise InvalidInput(f"{where}.{field}", message) from None


def _events(events: Sequence[str] | None) -> list[str]:
    if events is None:
        return [k.value for k in DEFAULT_KINDS]
    known = {k.value for k in RULE_KINDS}
    for event in events:
        if event not in known:
            raise InvalidInput("events", f"unknown event {event!r}; one of: {', '.join(known)}")
    return [k.value for k in RULE_KINDS if k.value in set(events)]


def _name(name: str) -> str:
    if not name.strip() or len(name) > 120:
        raise InvalidInput("name", "must be 1 to 120 characters")
    return name.strip()


def _seal(
    channel: Channel, channel_id: uuid.UUID, master_key: bytes, secret: dict[str, Any]
) -> tuple[bytes | None, str]:
    if channel.Secret is None:
        if secret:
            raise InvalidInput("secret", f"a {channel.title} channel takes no secret")
        return None, ""
    parsed = _parse(channel.Secret, secret, "secret")
    document = parsed.model_dump_json().encode()
    shown = str(getattr(parsed, channel.hint_field, ""))
    return NOTIFICATION_CHANNEL_SECRET.seal(master_key, channel_id, document), hint(shown)


def secret_of(row: NotificationChannel, master_key: bytes) -> BaseModel | None:
    channel = CHANNELS[row.kind]
    if channel.Secret is None or row.secret_sealed is None:
        return None
    raw = NOTIFICATION_CHANNEL_SECRET.unseal(master_key, row.id, row.secret_sealed)
    return channel.Secret.model_validate(json.loads(raw))


def config_of(row: NotificationChannel) -> BaseModel:
    return CHANNELS[row.kind].Config.model_validate(row.config or {})


async def list_all(session: AsyncSession) -> Sequence[NotificationChannel]:
    query = select(NotificationChannel).order_by(
        NotificationChannel.created_at, NotificationChannel.id
    )
    return (await session.scalars(query)).all()


async def get(session: AsyncSession, channel_id: uuid.UUID) -> NotificationChannel:
    row = await session.get(NotificationChannel, channel_id)
    if row is None:
        raise NotFound("notification channel")
    return row


async def create(
    session: AsyncSession,
    principal: Principal,
    master_key: bytes,
    *,
    kind: str,
    name: str,
    config: dict[str, Any] | None = None,
    secret: dict[str, Any] | None = None,
    events: Sequence[str] | None = None,
    critical_only: bool = False,
) -> NotificationChannel:
    _require_admin(principal)
    channel = _kind(kind)
    if len(await list_all(session)) >= MAX_CHANNELS:
        raise InvalidInput("kind", f"an organisation may have {MAX_CHANNELS} channels at most")
    channel_id = uuid.uuid4()
    parsed = _parse(channel.Config, config or {}, "config")
    sealed, hint = _seal(channel, channel_id, master_key, secret or {})
    row = NotificationChannel(
        id=channel_id,
        org_id=principal.org_id,
        kind=kind,
        name=_name(name),
        config=parsed.model_dump(mode="json", exclude_none=True),
        secret_sealed=sealed,
        secret_hint=hint,
        events=_events(events),
        critical_only=critical_only,
        enabled=True,
        status="ok",
        created_by=principal.actor.label,
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    await audit.record(
        session,
        principal.actor,
        "notification_channel.created",
        org_id=principal.org_id,
        target_type="notification_channel",
        target_id=row.id,
        details={
            "kind": kind,
            "name": row.name,
            "events": row.events,
            "critical_only": row.critical_only,
        },
    )
    return row


async def update(
    session: AsyncSession,
    principal: Principal,
    master_key: bytes,
    channel_id: uuid.UUID,
    *,
    name: str | None = None,
    config: dict[str, Any] | None = None,
    secret: dict[str, Any] | None = None,
    events: Sequence[str] | None = None,
    enabled: bool | None = None,
    critical_only: bool | None = None,
) -> NotificationChannel:
    row = await get(session, channel_id)
    _require_admin(principal)
    channel = _kind(row.kind)
    changed: list[str] = []
    if name is not None:
        row.name = _name(name)
        changed.append("name")
    if config is not None:
        row.config = _parse(channel.Config, config, "config").model_dump(
            mode="json", exclude_none=True
        )
        changed.append("config")
    if secret is not None:
        row.secret_sealed, row.secret_hint = _seal(channel, row.id, master_key, secret)
        changed.append("secret")
    if events is not None:
        row.events = _events(events)
        changed.append("events")
    if enabled is not None:
        row.enabled = enabled
        changed.append("enabled")
    if critical_only is not None:
        row.critical_only = critical_only
        changed.append("critical_only")
    if {"config", "secret"} & set(changed):
        # New settings deserve a new chance: the failure was about the old ones.
        row.status, row.failure, row.failing_since = "ok", None, None
    await session.flush()
    await session.refresh(row)
    await audit.record(
        session,
        principal.actor,
        "notification_channel.updated",
        org_id=principal.org_id,
        target_type="notification_channel",
        target_id=row.id,
        details={"changed": changed},
    )
    return row


async def delete(session: AsyncSession, principal: Principal, channel_id: uuid.UUID) -> None:
    row = await get(session, channel_id)
    _require_admin(principal)
    await session.delete(row)
    await audit.record(
        session,
        principal.actor,
        "notification_channel.deleted",
        org_id=principal.org_id,
        target_type="notification_channel",
        target_id=channel_id,
        details={"kind": row.kind, "name": row.name},
    )


def event_kinds() -> list[EventKind]:
    return list(RULE_KINDS)
